package dev.rotor.demo.backend;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the client certificate file Rotor replaces at every rotation and, when its content
 * changes, asks the pool to retire its connections (HikariCP's soft eviction: idle ones close at
 * once, busy ones when returned), so the next query connects with the new certificate. Without
 * it a pooled connection keeps the certificate it was made with until {@code maxLifetime}, which
 * HikariCP will not set below 30 s: longer than a short SVID lives. {@code maxLifetime} stays the
 * backstop. Only this class's single thread touches {@link #lastDigest}.
 */
final class CertificateWatch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CertificateWatch.class);

  private final Path certFile;
  private final Runnable retireConnections;
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "db-certificate-watch");
    t.setDaemon(true);
    return t;
  });
  private byte[] lastDigest;

  CertificateWatch(Path certFile, Runnable retireConnections) {
    this.certFile = requireNonNull(certFile, "certFile");
    this.retireConnections = requireNonNull(retireConnections, "retireConnections");
  }

  /** Checks now, then every {@code period}. */
  CertificateWatch start(Duration period) {
    thread.scheduleWithFixedDelay(this::checkQuietly, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  /**
   * Reads the file once; retires the pool's connections if its content differs from the last
   * read. The first read, and a file that is not there yet, retire nothing. True if it retired.
   */
  boolean check() throws IOException {
    byte[] content;
    try {
      content = Files.readAllBytes(certFile);
    } catch (NoSuchFileException e) {
      return false;
    }
    byte[] digest = sha256(content);
    byte[] previous = lastDigest;
    lastDigest = digest;
    if (previous == null || Arrays.equals(previous, digest)) {
      return false;
    }
    log.info("client certificate {} replaced (now serial {}): retiring pooled database connections",
        certFile, serial(content));
    retireConnections.run();
    return true;
  }

  private void checkQuietly() {
    try {
      check();
    } catch (IOException | RuntimeException e) {
      log.warn("cannot check the client certificate {}: {}", certFile, e.toString());
    }
  }

  /** The leaf's serial in hex, for the log line; the content is a PEM chain Rotor wrote. */
  private static String serial(byte[] pem) {
    try {
      X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(pem));
      return leaf.getSerialNumber().toString(16);
    } catch (CertificateException | ClassCastException e) {
      return "(not a certificate: " + e.getMessage() + ")";
    }
  }

  private static byte[] sha256(byte[] content) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(content);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
