package dev.rotor.text;

/**
 * Text from outside (a file, a flag, a request) shown back in an error message or a log line.
 *
 * <p>Why escape: a value quoted raw can carry a newline that forges a second log line, terminal
 * escape sequences, a right-to-left override that shows {@code txt.exe} as {@code exe.txt}, or a
 * Cyrillic {@code а} that makes {@code spiffe://exаmple.org} look like the trust domain it is not,
 * so an error saying "not allowed" would show two identical strings (issue 13, low). Everything
 * Rotor echoes is ASCII by specification (SPIFFE IDs, trust domains, names, node ids, paths), so
 * every character outside printable ASCII is shown as a Java escape ({@code \n}, {@code \u0430}).
 *
 * <p>Why clip: clients choose the length of what Rotor echoes (a node id of 1 MB was logged three
 * times by one NACK, issue 13 finding 6); a clipped value says how long the original was.
 */
public final class EchoedText {
  private EchoedText() {}

  /** {@code value} in double quotes, with quotes, backslashes and non-printable-ASCII escaped. */
  public static String quote(String value) {
    return append(new StringBuilder(value.length() + 2).append('"'), value, true).append('"').toString();
  }

  /** {@code value} with every character outside printable ASCII escaped (quotes left as they are). */
  public static String escape(String value) {
    if (isPrintableAscii(value)) {
      return value;
    }
    return append(new StringBuilder(value.length() + 16), value, false).toString();
  }

  /**
   * At most {@code maxChars} characters of {@code value}, escaped; a longer value is cut and ends in
   * {@code "...(N chars)"}.
   */
  public static String clip(String value, int maxChars) {
    if (maxChars < 1) {
      throw new IllegalArgumentException("maxChars: " + maxChars + " (expected: > 0)");
    }
    if (value.length() <= maxChars) {
      return escape(value);
    }
    int end = maxChars;
    if (Character.isHighSurrogate(value.charAt(end - 1))) {
      end--; // never split a pair: the escape would show half a character
    }
    return escape(value.substring(0, end)) + "...(" + value.length() + " chars)";
  }

  private static boolean isPrintableAscii(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  private static StringBuilder append(StringBuilder b, String value, boolean quoted) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (quoted && (c == '"' || c == '\\')) {
            b.append('\\').append(c);
          } else if (c < 0x20 || c > 0x7e) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b;
  }
}
