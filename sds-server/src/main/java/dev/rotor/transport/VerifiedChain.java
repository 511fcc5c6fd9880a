package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.identity.IdentitySnapshot;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The certificate chain a TCP peer presented in its handshake, verified again whenever asked: for
 * every call (the authorization interceptor) and for every open stream (the runtime's sweep, at
 * each identity change and every second). A handshake proves the chain was good then; this says
 * whether it still is, against the bundles and time of now, so neither a long-lived stream nor a
 * connection outlives an expired certificate or a CA that left the bundle.
 *
 * <p>One per TLS session, kept in the session itself. A recheck costs a PKIX validation only when
 * the served identities changed since the last one; otherwise a comparison with the chain's
 * earliest not-after.
 */
public final class VerifiedChain {

  private static final String SESSION_KEY = "dev.rotor.verified-chain";

  private final X509Certificate[] chain;
  private final SpiffeTrustManager verifier;
  private final Instant notAfter;
  // Guarded by "this": the last verdict and the identities it was reached against.
  private Optional<IdentitySnapshot> checkedAgainst;
  private Optional<String> verdict;

  private VerifiedChain(X509Certificate[] chain, SpiffeTrustManager verifier) {
    this.chain = chain;
    this.verifier = verifier;
    this.notAfter = Arrays.stream(chain).map(c -> c.getNotAfter().toInstant()).min(Instant::compareTo)
        .orElse(Instant.MIN);
  }

  /**
   * The chain of {@code session}'s peer, created on first use.
   *
   * @throws CertificateException when the session has no X.509 client certificate
   */
  static VerifiedChain of(SSLSession session, SpiffeTrustManager verifier)
      throws CertificateException, SSLPeerUnverifiedException {
    requireNonNull(session, "session");
    synchronized (session) {
      if (session.getValue(SESSION_KEY) instanceof VerifiedChain known) {
        return known;
      }
      Certificate[] peer = session.getPeerCertificates();
      X509Certificate[] chain = new X509Certificate[peer.length];
      for (int i = 0; i < peer.length; i++) {
        if (!(peer[i] instanceof X509Certificate x)) {
          throw new CertificateException("no X.509 client certificate");
        }
        chain[i] = x;
      }
      if (chain.length == 0) {
        throw new CertificateException("no X.509 client certificate");
      }
      VerifiedChain created = new VerifiedChain(chain, verifier);
      session.putValue(SESSION_KEY, created);
      return created;
    }
  }

  X509Certificate leaf() {
    return chain[0];
  }

  /**
   * Empty while the chain still verifies against the current bundle of its trust domain, at the
   * current time, for an allowed SPIFFE ID; else why not (for the operator's log: the peer is only
   * told that its certificate no longer holds).
   */
  public synchronized Optional<String> recheck() {
    Optional<IdentitySnapshot> identities = verifier.identities();
    boolean sameIdentities = checkedAgainst != null && sameSnapshot(checkedAgainst, identities);
    if (sameIdentities && (verdict.isPresent() || verifier.now().isBefore(notAfter))) {
      return verdict;
    }
    try {
      verifier.verify(chain, SpiffeTrustManager.CLIENT_AUTH);
      verdict = Optional.empty();
    } catch (CertificateException e) {
      verdict = Optional.of(e.getMessage());
    }
    checkedAgainst = identities;
    return verdict;
  }

  private static boolean sameSnapshot(Optional<IdentitySnapshot> a, Optional<IdentitySnapshot> b) {
    return a.isPresent() == b.isPresent() && (a.isEmpty() || a.get() == b.get());
  }
}
