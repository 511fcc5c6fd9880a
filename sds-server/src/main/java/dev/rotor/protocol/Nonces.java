package dev.rotor.protocol;

import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Nonces are per stream and never repeat across streams or process restarts (xds-protocol rule 1):
 * a random process token, the stream id and a counter.
 */
final class Nonces {
  private static final String PROCESS_TOKEN = newToken();

  private final String prefix;
  private long counter;

  Nonces(long streamId) {
    this.prefix = PROCESS_TOKEN + Long.toString(streamId, 36) + ".";
  }

  /** Not thread-safe: used only on its stream's executor. */
  String next() {
    return prefix + (++counter);
  }

  private static String newToken() {
    byte[] b = new byte[3];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b) + "-";
  }
}
