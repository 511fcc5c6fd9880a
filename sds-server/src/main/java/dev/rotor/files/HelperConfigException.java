package dev.rotor.files;

import dev.rotor.text.EchoedText;

/**
 * A {@code helper.conf} (or {@code rotor write-certs} flag) that cannot be used: one line naming
 * where (file and line, or flag), the key, the value and the fix.
 */
public final class HelperConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public HelperConfigException(String message) {
    super(oneLine(message));
  }

  public HelperConfigException(String message, Throwable cause) {
    super(oneLine(message), cause);
  }

  /**
   * Messages quote keys and values from the file, and HCL escapes ({@code "\n"}, {@code "\r"})
   * can put control characters in them: escaped here, so the message stays one line, together
   * with every other character outside printable ASCII (direction overrides, look-alike letters).
   */
  private static String oneLine(String message) {
    return message == null ? null : EchoedText.escape(message);
  }
}
