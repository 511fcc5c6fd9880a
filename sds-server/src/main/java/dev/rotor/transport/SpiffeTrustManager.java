package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.TrustBundle;
import io.spiffe.spiffeid.SpiffeId;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts a TLS peer only if it presents an X.509-SVID that chains (PKIX) to the
 * <em>current</em> bundle of its own trust domain, and whose SPIFFE ID is on the allow-list.
 * Bundles are read from the supplier at every handshake, so bundle rotation and federation
 * changes apply to the next connection. Everything else is rejected: no SVID, no bundle for the
 * peer's trust domain, an expired or not-yet-valid certificate, a CA certificate as leaf, an ID
 * not on the list.
 *
 * <p>The same checks serve both directions: on a server the allow-list holds the client IDs, on
 * a client the server IDs it expects. A handshake is not the last word: {@link VerifiedChain}
 * repeats the same checks for every call and open stream, so a peer whose certificate expired or
 * whose CA left the bundle is refused on a connection it already holds.
 */
public final class SpiffeTrustManager extends X509ExtendedTrustManager {

  private static final Logger log = LoggerFactory.getLogger(SpiffeTrustManager.class);

  static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";
  private static final int KEY_USAGE_DIGITAL_SIGNATURE = 0;
  private static final int KEY_USAGE_KEY_CERT_SIGN = 5;
  private static final int KEY_USAGE_CRL_SIGN = 6;

  private final Supplier<Optional<IdentitySnapshot>> identities;
  private final Set<SpiffeId> allowedPeers;
  private final Clock clock;

  /**
   * @param identities where the current trust bundles come from (own and federated)
   * @param allowedPeers the SPIFFE IDs accepted as peers; never empty
   * @param clock the time certificates must be valid at
   */
  public SpiffeTrustManager(Supplier<Optional<IdentitySnapshot>> identities, Set<SpiffeId> allowedPeers, Clock clock) {
    this.identities = requireNonNull(identities, "identities");
    this.allowedPeers = Set.copyOf(requireNonNull(allowedPeers, "allowedPeers"));
    if (this.allowedPeers.isEmpty()) {
      throw new IllegalArgumentException("allowedPeers: empty (expected: at least one SPIFFE ID)");
    }
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain, CLIENT_AUTH);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    check(chain, CLIENT_AUTH);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    check(chain, CLIENT_AUTH);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    check(chain, SERVER_AUTH);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    check(chain, SERVER_AUTH);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    check(chain, SERVER_AUTH);
  }

  /**
   * No certificate_authorities hint is sent: peers have exactly one SVID to offer, and a list of
   * every federated CA would only make the handshake bigger.
   */
  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }

  private void check(X509Certificate[] chain, String purpose) throws CertificateException {
    try {
      verify(chain, purpose);
    } catch (CertificateException e) {
      // The peer only sees a TLS alert; the reason is for the operator. Certificates are public,
      // so naming the SPIFFE ID and serial is fine.
      log.warn("rejected TLS {}: {}", purpose.equals(CLIENT_AUTH) ? "client" : "server", e.getMessage());
      throw e;
    }
  }

  /** The identities chains are verified against now. */
  Optional<IdentitySnapshot> identities() {
    return identities.get();
  }

  /** The time chains must be valid at now. */
  java.time.Instant now() {
    return clock.instant();
  }

  /** Verifies a peer chain (leaf first) and returns the peer's SPIFFE ID. */
  SpiffeId verify(X509Certificate[] chain, String purpose) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("peer presented no certificate");
    }
    X509Certificate leaf = chain[0];
    SpiffeId id = SvidCertificates.spiffeIdOf(leaf);
    checkLeafUsage(leaf, id, purpose);
    IdentitySnapshot snapshot = identities.get()
        .orElseThrow(() -> new CertificateException("no trust bundles yet; cannot verify " + id));
    TrustBundle bundle = snapshot.bundle(id.getTrustDomain())
        .orElseThrow(() -> new CertificateException("no trust bundle for trust domain " + id.getTrustDomain() + " of " + id));
    validatePath(chain, bundle, id);
    if (!allowedPeers.contains(id)) {
      throw new CertificateException(id + " is not an allowed peer (serial " + leaf.getSerialNumber().toString(16) + ")");
    }
    return id;
  }

  private static void checkLeafUsage(X509Certificate leaf, SpiffeId id, String purpose) throws CertificateException {
    if (leaf.getBasicConstraints() != -1) {
      throw new CertificateException("leaf certificate of " + id + " is a CA certificate");
    }
    boolean[] keyUsage = leaf.getKeyUsage();
    if (keyUsage != null && (!bit(keyUsage, KEY_USAGE_DIGITAL_SIGNATURE)
        || bit(keyUsage, KEY_USAGE_KEY_CERT_SIGN) || bit(keyUsage, KEY_USAGE_CRL_SIGN))) {
      throw new CertificateException("leaf certificate of " + id + " has a key usage an X.509-SVID must not have");
    }
    List<String> extendedKeyUsage = leaf.getExtendedKeyUsage();
    if (extendedKeyUsage != null && !extendedKeyUsage.contains(purpose) && !extendedKeyUsage.contains(ANY_EXTENDED_KEY_USAGE)) {
      throw new CertificateException("leaf certificate of " + id + " is not for "
          + (purpose.equals(CLIENT_AUTH) ? "TLS client" : "TLS server") + " authentication");
    }
  }

  private void validatePath(X509Certificate[] chain, TrustBundle bundle, SpiffeId id) throws CertificateException {
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate authority : bundle.authorities()) {
      anchors.add(new TrustAnchor(authority, null));
    }
    if (anchors.isEmpty()) {
      throw new CertificateException("trust bundle of " + id.getTrustDomain() + " is empty; cannot verify " + id);
    }
    // PKIX wants the path without its anchor; a peer may send its root along.
    List<X509Certificate> path = new ArrayList<>(Arrays.asList(chain));
    while (path.size() > 1 && bundle.authorities().contains(path.get(path.size() - 1))) {
      path.remove(path.size() - 1);
    }
    try {
      CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false); // SPIFFE relies on short lifetimes, not CRLs
      params.setDate(Date.from(clock.instant()));
      CertPathValidator.getInstance("PKIX").validate(certPath, params);
    } catch (GeneralSecurityException e) {
      throw new CertificateException("certificate of " + id + " does not verify against the bundle of "
          + id.getTrustDomain() + ": " + e.getMessage(), e);
    }
  }

  private static boolean bit(boolean[] bits, int i) {
    return i < bits.length && bits[i];
  }
}
