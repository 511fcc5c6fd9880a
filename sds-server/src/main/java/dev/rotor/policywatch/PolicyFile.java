package dev.rotor.policywatch;

import com.google.common.hash.Hashing;
import dev.rotor.policy.PolicyParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;

/**
 * One read of the policy file: what it resolved to, its metadata and its text, taken together so
 * they describe the same file.
 *
 * @param realPath the file after following every symlink (a ConfigMap swap changes it)
 * @param size in bytes
 * @param modified last-modified time
 * @param digest SHA-256 of the bytes, hex
 * @param text the content, decoded as strict UTF-8
 */
record PolicyFile(Path realPath, long size, FileTime modified, String digest, String text) {

  /**
   * Largest file read, in bytes: the parser accepts at most {@link PolicyParser#MAX_CODE_POINTS}
   * code points, which UTF-8 encodes in at most four bytes each.
   */
  static final long MAX_BYTES = 4L * PolicyParser.MAX_CODE_POINTS;

  /** What identifies a version of the file without its text. */
  record Fingerprint(Path realPath, long size, FileTime modified, String digest) {}

  Fingerprint fingerprint() {
    return new Fingerprint(realPath, size, modified, digest);
  }

  /**
   * Reads {@code file}. A ConfigMap update can delete the directory the link pointed to between
   * resolving the link and reading the file; that race is retried once with a fresh resolution,
   * so it is not mistaken for a missing file.
   */
  static PolicyFile read(Path file) throws IOException {
    try {
      return readOnce(file);
    } catch (NoSuchFileException e) {
      return readOnce(file);
    }
  }

  private static PolicyFile readOnce(Path file) throws IOException {
    Path real = file.toRealPath();
    BasicFileAttributes attrs = Files.readAttributes(real, BasicFileAttributes.class);
    if (!attrs.isRegularFile()) {
      throw new IOException(file + " is not a regular file (it resolves to " + real + ")");
    }
    if (attrs.size() > MAX_BYTES) {
      throw new IOException(file + " is " + attrs.size() + " bytes (expected at most " + MAX_BYTES + ")");
    }
    byte[] bytes;
    try (InputStream in = Files.newInputStream(real)) {
      bytes = in.readNBytes((int) MAX_BYTES + 1);
    }
    if (bytes.length > MAX_BYTES) {
      throw new IOException(file + " grew past " + MAX_BYTES + " bytes while being read");
    }
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IOException(file + " is not valid UTF-8", e);
    }
    String digest = Hashing.sha256().hashBytes(bytes).toString();
    return new PolicyFile(real, bytes.length, attrs.lastModifiedTime(), digest, text);
  }
}
