package dev.rotor.identity;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Collection;

/**
 * PEM encoding of certificates and PKCS#8 keys, the form Envoy and spiffe-helper files use.
 * Written here (a few lines over {@link Base64}) so the pure xds-api module needs no crypto library.
 */
public final class Pem {
  private static final Base64.Encoder MIME = Base64.getMimeEncoder(64, new byte[] {'\n'});

  private Pem() {}

  /** Concatenated {@code CERTIFICATE} blocks, in the given order. */
  public static byte[] certificates(Collection<X509Certificate> certs) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (X509Certificate c : certs) {
      block(out, "CERTIFICATE", TrustBundle.der(c));
    }
    return out.toByteArray();
  }

  /** A {@code PRIVATE KEY} block (PKCS#8). The caller must never log the result. */
  public static byte[] privateKey(PrivateKey key) {
    String format = key.getFormat();
    if (!"PKCS#8".equals(format)) {
      throw new IllegalArgumentException("private key format: " + format + " (expected: PKCS#8)");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    block(out, "PRIVATE KEY", key.getEncoded());
    return out.toByteArray();
  }

  private static void block(ByteArrayOutputStream out, String type, byte[] der) {
    out.writeBytes(("-----BEGIN " + type + "-----\n").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(MIME.encode(der));
    out.writeBytes(("\n-----END " + type + "-----\n").getBytes(StandardCharsets.US_ASCII));
  }
}
