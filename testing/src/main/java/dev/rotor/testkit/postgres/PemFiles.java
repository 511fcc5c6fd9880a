package dev.rotor.testkit.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Reads certificates written as PEM files with the JDK's own X.509 code. */
public final class PemFiles {
  private PemFiles() {}

  /** Every certificate in a PEM file, in file order (leaf first for an SVID file). */
  public static List<X509Certificate> certificates(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      List<X509Certificate> certificates = new ArrayList<>();
      for (var certificate : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        certificates.add((X509Certificate) certificate);
      }
      if (certificates.isEmpty()) {
        throw new IllegalStateException(file + " holds no certificate");
      }
      return certificates;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(file + " is not a PEM certificate file", e);
    }
  }

  /** The first certificate of a PEM file. */
  public static X509Certificate leaf(Path file) {
    return certificates(file).get(0);
  }

  /**
   * The serial of the first certificate in {@code file}, or empty while the file does not exist
   * yet. A file replaced by rename is never seen half-written.
   */
  public static Optional<BigInteger> serialIfPresent(Path file) {
    try {
      return Optional.of(leaf(file).getSerialNumber());
    } catch (UncheckedIOException e) {
      if (e.getCause() instanceof NoSuchFileException) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** A trust store holding every certificate of a CA bundle file. */
  public static KeyStore trustStore(Path bundle) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      int i = 0;
      for (X509Certificate ca : certificates(bundle)) {
        store.setCertificateEntry("ca-" + i++, ca);
      }
      return store;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a trust store", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot create a trust store from " + bundle, e);
    }
  }

  /** A serial the way {@code openssl x509 -serial} prints it: upper-case hex. */
  public static String hex(BigInteger serial) {
    return serial.toString(16).toUpperCase(java.util.Locale.ROOT);
  }
}
