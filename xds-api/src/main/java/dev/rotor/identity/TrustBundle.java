package dev.rotor.identity;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.TrustDomain;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * The X.509 authorities of one trust domain. Immutable; authorities are kept in a canonical order
 * (by DER bytes) so the same set always encodes to the same bytes.
 */
public record TrustBundle(TrustDomain trustDomain, List<X509Certificate> authorities) {

  public TrustBundle {
    requireNonNull(trustDomain, "trustDomain");
    authorities = canonical(requireNonNull(authorities, "authorities"));
  }

  public static TrustBundle of(TrustDomain trustDomain, Collection<X509Certificate> authorities) {
    return new TrustBundle(trustDomain, List.copyOf(authorities));
  }

  private static List<X509Certificate> canonical(Collection<X509Certificate> certs) {
    List<X509Certificate> sorted = new ArrayList<>(certs);
    sorted.sort((a, b) -> Arrays.compareUnsigned(der(a), der(b)));
    List<X509Certificate> unique = new ArrayList<>(sorted.size());
    for (X509Certificate c : sorted) {
      if (unique.isEmpty() || !Arrays.equals(der(unique.get(unique.size() - 1)), der(c))) {
        unique.add(c);
      }
    }
    return List.copyOf(unique);
  }

  static byte[] der(X509Certificate cert) {
    try {
      return cert.getEncoded();
    } catch (CertificateEncodingException e) {
      throw new IllegalArgumentException("certificate cannot be encoded: " + cert.getSubjectX500Principal(), e);
    }
  }

  @Override
  public String toString() {
    return "TrustBundle{" + trustDomain + ", authorities=" + authorities.size() + "}";
  }
}
