package dev.rotor.transport;

import io.spiffe.spiffeid.SpiffeId;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Reading SPIFFE facts off X.509 certificates (SPIFFE X.509-SVID specification, section 4). */
final class SvidCertificates {

  /** GeneralName tag of a uniformResourceIdentifier (RFC 5280, 4.2.1.6). */
  private static final int URI_NAME = 6;

  private SvidCertificates() {}

  /**
   * The SPIFFE ID of an X.509-SVID leaf: its one and only URI SAN, which must be a valid SPIFFE
   * ID. Anything else (no URI SAN, several, a non-SPIFFE URI) is not an SVID.
   */
  static SpiffeId spiffeIdOf(X509Certificate leaf) throws CertificateException {
    List<String> uris = uriSans(leaf);
    if (uris.size() != 1) {
      throw new CertificateException("certificate has " + uris.size() + " URI SANs (expected: exactly one SPIFFE ID); serial "
          + leaf.getSerialNumber().toString(16));
    }
    try {
      return SpiffeId.parse(uris.get(0));
    } catch (IllegalArgumentException e) {
      throw new CertificateException("URI SAN \"" + uris.get(0) + "\" is not a SPIFFE ID (" + e.getMessage() + ")", e);
    }
  }

  private static List<String> uriSans(X509Certificate cert) throws CertificateParsingException {
    Collection<List<?>> sans = cert.getSubjectAlternativeNames();
    List<String> uris = new ArrayList<>();
    if (sans != null) {
      for (List<?> san : sans) {
        if (san.size() >= 2 && san.get(0) instanceof Integer tag && tag == URI_NAME) {
          uris.add(String.valueOf(san.get(1)));
        }
      }
    }
    return uris;
  }
}
