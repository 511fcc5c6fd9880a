package dev.rotor.identity;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * One X.509-SVID: the SPIFFE ID, the certificate chain (leaf first, then intermediates) and the
 * private key. Immutable.
 *
 * <p>{@link #toString()} never prints the key: an SVID may end up in a log line by accident, its
 * key must not.
 */
public record Svid(SpiffeId spiffeId, List<X509Certificate> chain, PrivateKey privateKey, String hint) {

  public Svid {
    requireNonNull(spiffeId, "spiffeId");
    requireNonNull(privateKey, "privateKey");
    chain = List.copyOf(requireNonNull(chain, "chain"));
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("chain: empty (expected: the leaf certificate first)");
    }
    hint = hint == null ? "" : hint;
  }

  public X509Certificate leaf() {
    return chain.get(0);
  }

  public List<X509Certificate> intermediates() {
    return chain.subList(1, chain.size());
  }

  public BigInteger serial() {
    return leaf().getSerialNumber();
  }

  public Instant notBefore() {
    return leaf().getNotBefore().toInstant();
  }

  public Instant notAfter() {
    return leaf().getNotAfter().toInstant();
  }

  /** Serial as lower-case hex, the form logs and status output use. */
  public String serialHex() {
    return serial().toString(16);
  }

  @Override
  public String toString() {
    return "Svid{" + spiffeId + ", serial=" + serialHex() + ", notAfter=" + notAfter() + "}";
  }
}
