package dev.rotor.testkit.demo;

import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Optional;

/** What the demo's watchers read off a certificate besides its serial: which CA key signed it. */
final class Certificates {
  /** id-ce-authorityKeyIdentifier (RFC 5280, 4.2.1.1). */
  private static final String AUTHORITY_KEY_IDENTIFIER = "2.5.29.35";

  private Certificates() {}

  /**
   * The key identifier of the CA that signed {@code cert} (its authority key identifier), in hex,
   * or empty when the certificate has none. SPIRE's CA sets it on every SVID, so a change means a
   * new signing CA: a CA rotation.
   */
  static Optional<String> authorityKeyId(X509Certificate cert) {
    byte[] extension = cert.getExtensionValue(AUTHORITY_KEY_IDENTIFIER);
    if (extension == null) {
      return Optional.empty();
    }
    // OCTET STRING { SEQUENCE { [0] keyIdentifier OPTIONAL, [1] ..., [2] ... } }
    Der outer = Der.read(extension, 0, 0x04);
    Der sequence = Der.read(extension, outer.contentStart(), 0x30);
    if (sequence.contentStart() >= sequence.end() || (extension[sequence.contentStart()] & 0xff) != 0x80) {
      return Optional.empty();
    }
    Der keyId = Der.read(extension, sequence.contentStart(), 0x80);
    return Optional.of(HexFormat.of().formatHex(extension, keyId.contentStart(), keyId.end()));
  }

  /** One DER element: where its content starts and where it ends. */
  private record Der(int contentStart, int end) {
    static Der read(byte[] der, int at, int expectedTag) {
      if (at + 2 > der.length || (der[at] & 0xff) != expectedTag) {
        throw new IllegalArgumentException(String.format("DER tag at %d: %s (expected 0x%02x)", at,
            at < der.length ? String.format("0x%02x", der[at] & 0xff) : "end of input", expectedTag));
      }
      int length = der[at + 1] & 0xff;
      int start = at + 2;
      if (length > 0x80) {
        int octets = length & 0x7f;
        length = 0;
        for (int i = 0; i < octets; i++) {
          length = (length << 8) | (der[start + i] & 0xff);
        }
        start += octets;
      }
      if (start + length > der.length) {
        throw new IllegalArgumentException("DER length at " + at + ": " + length + " (past the end)");
      }
      return new Der(start, start + length);
    }
  }
}
