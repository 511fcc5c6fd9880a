package dev.rotor.demo.backend;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;

/**
 * Half the lifetime of the SVID in a PEM file: SPIRE (and Rotor's dev CA) renew at half-life, so
 * a pooled connection older than that may still run on the previous certificate.
 */
final class SvidLifetime {
  private SvidLifetime() {}

  /** Empty when the file is not there yet or is not a certificate (the pool reports that better). */
  static Optional<Duration> halfLife(Path pem) {
    if (!Files.isRegularFile(pem)) {
      return Optional.empty();
    }
    try (InputStream in = Files.newInputStream(pem)) {
      X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      Duration lifetime = Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant());
      return Optional.of(lifetime.dividedBy(2));
    } catch (IOException | CertificateException | ClassCastException e) {
      return Optional.empty();
    }
  }
}
