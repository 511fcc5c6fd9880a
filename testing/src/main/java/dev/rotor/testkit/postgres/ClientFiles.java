package dev.rotor.testkit.postgres;

import static java.util.Objects.requireNonNull;

import dev.rotor.testkit.KeyPairs;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.List;

/**
 * The three files a pgjdbc client needs for {@code sslmode=verify-full} with a client certificate:
 * its certificate chain (PEM), its private key (PKCS#8 DER, {@code .pk8}: what pgjdbc's
 * {@code sslkey} reads without a password) and the CAs it trusts (PEM).
 */
public record ClientFiles(Path cert, Path key, Path ca) {
  public ClientFiles {
    requireNonNull(cert, "cert");
    requireNonNull(key, "key");
    requireNonNull(ca, "ca");
  }

  public List<Path> all() {
    return List.of(cert, key, ca);
  }

  public boolean exist() {
    return all().stream().allMatch(Files::isRegularFile);
  }

  /**
   * Reads the three files as they are now into memory and writes the copies into {@code dir}:
   * what a program that loads its certificate once at start-up keeps using. The certificate and
   * key are read in two opens, so a rotation in between could pair them wrongly; the pair is
   * checked (the key signs what the certificate's public key verifies) and read again if not.
   */
  public ClientFiles snapshotInto(Path dir) {
    try {
      Files.createDirectories(dir);
      for (int attempt = 1; ; attempt++) {
        byte[] certBytes = Files.readAllBytes(cert);
        byte[] keyBytes = Files.readAllBytes(key);
        byte[] caBytes = Files.readAllBytes(ca);
        if (keyMatches(keyBytes, certBytes)) {
          ClientFiles copy = new ClientFiles(dir.resolve(cert.getFileName()),
              dir.resolve(key.getFileName()), dir.resolve(ca.getFileName()));
          Files.write(copy.cert(), certBytes);
          // pgjdbc, like libpq, refuses a key file with group or world access.
          Files.deleteIfExists(copy.key());
          Files.createFile(copy.key(), PosixFilePermissions.asFileAttribute(
              PosixFilePermissions.fromString("rw-------")));
          Files.write(copy.key(), keyBytes);
          Files.write(copy.ca(), caBytes);
          return copy;
        }
        if (attempt == 3) {
          throw new IllegalStateException(key + " does not belong to " + cert
              + " in three reads (expected: a matching pair, published together)");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy the client's files into " + dir, e);
    }
  }

  private static boolean keyMatches(byte[] pkcs8Der, byte[] certPem) {
    try {
      X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(certPem));
      PrivateKey privateKey = KeyFactory.getInstance(leaf.getPublicKey().getAlgorithm())
          .generatePrivate(new PKCS8EncodedKeySpec(pkcs8Der));
      return KeyPairs.matches(privateKey, leaf);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }
}
