package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The server's trust manager: checks a client like its delegate, then invalidates the session
 * being negotiated, so it is never cached and no ticket is issued for it, and no later connection
 * can resume it past these checks ({@link TcpMtlsServer#SESSION_TIMEOUT_SECONDS} says why). The
 * client certificate is checked in the middle of every full handshake, before the session is
 * cached (TLS 1.2) or a ticket is made from it (TLS 1.3, after Finished), which is what makes this
 * the place: a transport hook after the handshake would come too late for a client that reconnects
 * at once, and never for one that sends no HTTP/2 preface. The connection itself keeps working:
 * invalidation only refuses resumption.
 */
final class NonResumingTrustManager extends X509ExtendedTrustManager {

  private final X509ExtendedTrustManager delegate;

  NonResumingTrustManager(X509ExtendedTrustManager delegate) {
    this.delegate = requireNonNull(delegate, "delegate");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    delegate.checkClientTrusted(chain, authType, engine);
    invalidate(engine == null ? null : engine.getHandshakeSession());
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    delegate.checkClientTrusted(chain, authType, socket);
    invalidate(socket instanceof SSLSocket ssl ? ssl.getHandshakeSession() : null);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    // No connection to reach the session through: refuse rather than admit a resumable session.
    throw new CertificateException("client checks need the TLS engine or socket");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
    throw new CertificateException("Rotor's TCP server does not accept servers");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    throw new CertificateException("Rotor's TCP server does not accept servers");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("Rotor's TCP server does not accept servers");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return delegate.getAcceptedIssuers();
  }

  private static void invalidate(SSLSession handshakeSession) throws CertificateException {
    if (handshakeSession == null) {
      throw new CertificateException("no handshake session to keep from resumption");
    }
    handshakeSession.invalidate();
  }
}
