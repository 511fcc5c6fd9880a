package dev.rotor.it;

import static dev.rotor.it.SecretMaterial.anchors;
import static dev.rotor.it.SecretMaterial.chain;
import static dev.rotor.it.SecretMaterial.privateKey;
import static dev.rotor.it.SecretMaterial.secret;
import static dev.rotor.it.SecretMaterial.spiffeId;

import dev.rotor.it.SdsTestClient.SecretStream;
import java.net.Socket;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A JDK TLS context that, like Envoy, takes its certificate, key and trust bundle from SDS: at
 * every handshake, the newest {@code default} and {@code ROOTCA} responses of two live streams.
 * Peers must present the expected SPIFFE ID and a chain that verifies against the bundle now.
 * Uses only the JDK's own X.509 code, nothing from Rotor.
 */
final class SdsFedTls {
  private final SecretStream certificate;
  private final SecretStream bundle;
  private final String trustDomain;
  private final URI expectedPeer;
  /** alias → the chain and key read under it; an alias names one SDS version, so both match. */
  private final Map<String, Material> byAlias = new ConcurrentHashMap<>();

  private record Material(X509Certificate[] chain, PrivateKey key) {}

  SdsFedTls(SecretStream certificate, SecretStream bundle, String trustDomain, URI expectedPeer) {
    this.certificate = certificate;
    this.bundle = bundle;
    this.trustDomain = trustDomain;
    this.expectedPeer = expectedPeer;
  }

  SSLContext context() {
    try {
      SSLContext context = SSLContext.getInstance("TLSv1.3");
      context.init(new KeyManager[] {new KeyFromSds()}, new TrustManager[] {new TrustFromSds()}, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot create a TLS context", e);
    }
  }

  /** The current SDS version of the certificate, read into {@link #byAlias} under its own name. */
  private String currentAlias() {
    var response = certificate.last().response();
    String alias = "sds-" + response.getVersionInfo();
    byAlias.computeIfAbsent(alias, a -> {
      var tls = secret(response, "default");
      List<X509Certificate> certs = chain(tls);
      if (byAlias.size() > 16) {
        byAlias.clear(); // old versions are never asked for again once a handshake moved on
      }
      return new Material(certs.toArray(X509Certificate[]::new), privateKey(tls, certs.get(0)));
    });
    return alias;
  }

  private final class KeyFromSds extends X509ExtendedKeyManager {
    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {currentAlias()};
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return currentAlias();
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return currentAlias();
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return new String[] {currentAlias()};
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return currentAlias();
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return currentAlias();
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      Material m = byAlias.get(alias);
      return m == null ? null : m.chain().clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      Material m = byAlias.get(alias);
      return m == null ? null : m.key();
    }
  }

  private final class TrustFromSds extends X509ExtendedTrustManager {
    private void verify(X509Certificate[] presented) throws CertificateException {
      List<X509Certificate> roots = anchors(secret(bundle.last().response(), "ROOTCA"), trustDomain);
      try {
        Set<TrustAnchor> trusted = roots.stream().map(r -> new TrustAnchor(r, null)).collect(Collectors.toSet());
        PKIXParameters params = new PKIXParameters(trusted);
        params.setRevocationEnabled(false);
        params.setDate(new Date());
        CertPathValidator.getInstance("PKIX").validate(
            CertificateFactory.getInstance("X.509").generateCertPath(List.of(presented)), params);
      } catch (GeneralSecurityException e) {
        throw new CertificateException("peer chain does not verify against the SDS bundle of "
            + roots.size() + " CA(s): " + e.getMessage(), e);
      }
      URI peer = spiffeId(presented[0]);
      if (!peer.equals(expectedPeer)) {
        throw new CertificateException("peer " + peer + " (expected: " + expectedPeer + ")");
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      verify(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      verify(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      verify(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      verify(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      verify(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      verify(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
