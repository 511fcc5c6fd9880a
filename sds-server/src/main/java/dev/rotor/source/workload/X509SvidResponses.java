package dev.rotor.source.workload;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.ByteString;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import io.spiffe.exception.X509SvidException;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.workloadapi.grpc.Workload.X509SVID;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns one {@code FetchX509SVID} response into an {@link IdentitySnapshot}: every SVID in the
 * order the agent sent it (the first is the default identity), the bundle of each SVID's trust
 * domain and every federated bundle. All or nothing: one bad field rejects the whole response,
 * because a partial snapshot would silently drop identities downstream.
 *
 * <p>Only parsing happens here. Whether the material may be served (validity, chain to bundle,
 * expected trust domain) is the identity gate's decision.
 */
final class X509SvidResponses {

  private X509SvidResponses() {}

  static IdentitySnapshot toSnapshot(X509SVIDResponse response) throws MalformedResponseException {
    requireNonNull(response, "response");
    if (response.getSvidsCount() == 0) {
      // SPIRE answers PERMISSION_DENIED when it has no identity; an empty list would wipe all.
      throw new MalformedResponseException("svids: empty (expected at least one X509SVID)");
    }
    List<Svid> svids = new ArrayList<>(response.getSvidsCount());
    Bundles bundles = new Bundles();
    for (int i = 0; i < response.getSvidsCount(); i++) {
      String field = "svids[" + i + "]";
      X509SVID message = response.getSvids(i);
      Svid svid = svid(field, message);
      svids.add(svid);
      TrustDomain td = svid.spiffeId().getTrustDomain();
      bundles.add(field + ".bundle", bundle(field + ".bundle", td, message.getBundle()));
    }
    // Sorted so that, of two bad keys, the same one is always reported.
    for (Map.Entry<String, ByteString> e : new TreeMap<>(response.getFederatedBundlesMap()).entrySet()) {
      String field = "federated_bundles[\"" + e.getKey() + "\"]";
      TrustDomain td = federatedTrustDomain(field, e.getKey());
      bundles.add(field, bundle(field, td, e.getValue()));
    }
    return IdentitySnapshot.of(svids, bundles.byTrustDomain);
  }

  private static Svid svid(String field, X509SVID message) throws MalformedResponseException {
    SpiffeId declared;
    try {
      declared = SpiffeId.parse(message.getSpiffeId());
    } catch (RuntimeException e) { // InvalidSpiffeIdException or IllegalArgumentException
      throw new MalformedResponseException(String.format(
          "%s.spiffe_id: \"%s\" is not a SPIFFE ID (%s; expected spiffe://<trust-domain>/<path>)",
          field, message.getSpiffeId(), e.getMessage()), e);
    }
    X509Svid parsed;
    try {
      // Also checks the X509-SVID shape (one URI SAN, leaf not a CA, signing certs are CAs). It does not
      // check that the key belongs to the leaf: the identity gate does, together with the chain.
      parsed = X509Svid.parseRaw(message.getX509Svid().toByteArray(), message.getX509SvidKey().toByteArray());
    } catch (X509SvidException | RuntimeException e) {
      throw new MalformedResponseException(String.format(
          "%s (%s): %s (expected x509_svid: DER certificates, leaf first; x509_svid_key: PKCS#8 DER)",
          field, declared, e.getMessage()), e);
    }
    if (!parsed.getSpiffeId().equals(declared)) {
      throw new MalformedResponseException(String.format(
          "%s.spiffe_id: \"%s\" does not match the certificate's URI SAN %s", field, declared, parsed.getSpiffeId()));
    }
    return new Svid(declared, parsed.getChain(), parsed.getPrivateKey(), message.getHint());
  }

  private static TrustDomain federatedTrustDomain(String field, String key) throws MalformedResponseException {
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

  private static TrustBundle bundle(String field, TrustDomain td, ByteString der) throws MalformedResponseException {
    if (der.isEmpty()) {
      throw new MalformedResponseException(
          field + ": empty (expected the DER CA certificates of trust domain " + td.getName() + ")");
    }
    List<X509Certificate> certs = new ArrayList<>();
    try {
      CertificateFactory factory = CertificateFactory.getInstance("X.509");
      for (var c : factory.generateCertificates(new ByteArrayInputStream(der.toByteArray()))) {
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

  /** Bundles by trust domain; a trust domain given twice must be given the same way. */
  private static final class Bundles {
    final Map<TrustDomain, TrustBundle> byTrustDomain = new HashMap<>();
    final Map<TrustDomain, String> origin = new HashMap<>();

    void add(String field, TrustBundle bundle) throws MalformedResponseException {
      TrustBundle previous = byTrustDomain.putIfAbsent(bundle.trustDomain(), bundle);
      if (previous == null) {
        origin.put(bundle.trustDomain(), field);
      } else if (!previous.equals(bundle)) {
        throw new MalformedResponseException(field + ": differs from the bundle of trust domain "
            + bundle.trustDomain().getName() + " in " + origin.get(bundle.trustDomain()));
      }
    }
  }
}
