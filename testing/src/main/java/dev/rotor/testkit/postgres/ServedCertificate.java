package dev.rotor.testkit.postgres;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * The certificate PostgreSQL presents to a new connection, read over a fresh TLS handshake of our
 * own: PostgreSQL's SSLRequest ({@code Int32 8, Int32 80877103}), its one-byte answer {@code 'S'},
 * then a TLS client handshake on the same socket. The peer chain is validated against the CA
 * bundle and the host name checked (PKIX with HTTPS endpoint identification, which is what
 * pgjdbc's {@code sslmode=verify-full} amounts to): an untrusted or misnamed certificate fails the
 * probe rather than being reported.
 *
 * <p>No client certificate is offered and no startup message is sent: the probe hangs up right
 * after the handshake, which PostgreSQL logs as an incomplete startup packet.
 */
public final class ServedCertificate {
  /** PostgreSQL's SSLRequest code: 1234 in the high 16 bits, 5679 in the low 16 bits. */
  private static final int SSL_REQUEST_CODE = 80877103;

  private ServedCertificate() {}

  /**
   * Connects to {@code 127.0.0.1:port}, verifies the server as {@code hostName} against the CAs
   * in {@code caBundle}, and returns the server's leaf certificate.
   */
  public static X509Certificate fetch(String hostName, int port, Path caBundle, Duration timeout) {
    int timeoutMillis = Math.toIntExact(timeout.toMillis());
    try (Socket plain = new Socket()) {
      plain.connect(new InetSocketAddress("127.0.0.1", port), timeoutMillis);
      plain.setSoTimeout(timeoutMillis);
      DataOutputStream out = new DataOutputStream(plain.getOutputStream());
      out.writeInt(8);
      out.writeInt(SSL_REQUEST_CODE);
      out.flush();
      int answer = plain.getInputStream().read();
      if (answer != 'S') {
        throw new IllegalStateException("PostgreSQL on port " + port + " answered the SSLRequest with "
            + (answer < 0 ? "end of stream" : "'" + (char) answer + "'") + " (expected: 'S')");
      }
      TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX");
      trust.init(PemFiles.trustStore(caBundle));
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      try (SSLSocket tls = (SSLSocket) context.getSocketFactory()
          .createSocket(plain, hostName, port, false)) {
        SSLParameters parameters = tls.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        tls.setSSLParameters(parameters);
        tls.startHandshake();
        return (X509Certificate) tls.getSession().getPeerCertificates()[0];
      }
    } catch (IOException e) {
      throw new UncheckedIOException("TLS handshake with PostgreSQL on port " + port + " as "
          + hostName + " failed", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up TLS to verify against " + caBundle, e);
    }
  }
}
