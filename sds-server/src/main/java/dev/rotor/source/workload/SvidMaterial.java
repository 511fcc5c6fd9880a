package dev.rotor.source.workload;

import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import io.spiffe.exception.X509SvidException;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses the SVIDs and bundles a SPIRE agent sends, field by field, the same for both of its APIs
 * that Rotor reads: the Workload API ({@link X509SvidResponses}) and the Delegated Identity API
 * (node mode). Only parsing: whether the material may be served is the identity gate's decision.
 * Messages name the field and never contain key material.
 */
public final class SvidMaterial {

  private SvidMaterial() {}

  /**
   * One X.509-SVID.
   *
   * @param field the response field, for messages, e.g. {@code svids[0]}
   * @param declaredId the SPIFFE ID the response declares; must be the certificate's URI SAN
   * @param chainDer DER certificates, leaf first, concatenated
   * @param keyDer PKCS#8 DER
   */
  public static Svid svid(String field, String declaredId, byte[] chainDer, byte[] keyDer, String hint)
      throws MalformedResponseException {
    SpiffeId declared;
    try {
      declared = SpiffeId.parse(declaredId);
    } catch (RuntimeException e) { // InvalidSpiffeIdException or IllegalArgumentException
      throw new MalformedResponseException(String.format(
          "%s.spiffe_id: \"%s\" is not a SPIFFE ID (%s; expected spiffe://<trust-domain>/<path>)",
          field, declaredId, e.getMessage()), e);
    }
    X509Svid parsed;
    try {
      // Also checks the X509-SVID shape (one URI SAN, leaf not a CA, signing certs are CAs). It does not
      // check that the key belongs to the leaf: the identity gate does, together with the chain.
      parsed = X509Svid.parseRaw(chainDer, keyDer);
    } catch (X509SvidException | RuntimeException e) {
      throw new MalformedResponseException(String.format(
          "%s (%s): %s (expected DER certificates, leaf first, and a PKCS#8 DER key)",
          field, declared, e.getMessage()), e);
    }
    if (!parsed.getSpiffeId().equals(declared)) {
      throw new MalformedResponseException(String.format(
          "%s.spiffe_id: \"%s\" does not match the certificate's URI SAN %s", field, declared, parsed.getSpiffeId()));
    }
    return new Svid(declared, parsed.getChain(), parsed.getPrivateKey(), hint);
  }

  /** A trust domain given as a bundle key: exactly {@code spiffe://<trust-domain>} or {@code <trust-domain>}. */
  public static TrustDomain trustDomain(String field, String key) throws MalformedResponseException {
    TrustDomain td;
    try {
      td = TrustDomain.parse(key);
    } catch (RuntimeException e) { // InvalidSpiffeIdException or IllegalArgumentException
      td = null;
    }
    // TrustDomain.parse also takes a full SPIFFE ID with a path; a bundle key must be exactly one of the two forms.
    if (td == null || !(key.equals(td.getName()) || key.equals(td.toIdString()))) {
      throw new MalformedResponseException(
          field + ": key is not a trust domain (expected spiffe://<trust-domain> or <trust-domain>)");
    }
    return td;
  }

  /** The bundle of {@code td}: its DER CA certificates, concatenated; at least one. */
  public static TrustBundle bundle(String field, TrustDomain td, byte[] der) throws MalformedResponseException {
    if (der.length == 0) {
      throw new MalformedResponseException(
          field + ": empty (expected the DER CA certificates of trust domain " + td.getName() + ")");
    }
    List<X509Certificate> certs = new ArrayList<>();
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      for (var c : factory.generateCertificates(new ByteArrayInputStream(der))) {
        certs.add((X509Certificate) c);
      }
    } catch (CertificateException | RuntimeException e) {
      throw new MalformedResponseException(field + ": not DER certificates of trust domain " + td.getName()
          + " (" + e.getMessage() + ")", e);
    }
    if (certs.isEmpty()) {
      throw new MalformedResponseException(
          field + ": holds no certificate (expected the DER CA certificates of trust domain " + td.getName() + ")");
    }
    return TrustBundle.of(td, certs);
  }
}
