package dev.rotor.files;

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
   * can put control characters in them: escaped here, so the message stays one line.
   */
  private static String oneLine(String message) {
    if (message == null) {
      return null;
    }
    StringBuilder out = new StringBuilder(message.length());
    message.codePoints().forEach(c -> {
      switch (c) {
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (Character.isISOControl(c)) {
            out.append(String.format("\\u%04x", c));
          } else {
            out.appendCodePoint(c);
          }
        }
      }
    });
    return out.toString();
  }
}
