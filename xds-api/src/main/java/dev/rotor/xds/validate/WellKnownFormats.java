package dev.rotor.xds.validate;

import com.google.common.net.InetAddresses;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.regex.Pattern;

/**
 * The string formats protoc-gen-validate knows by name. They follow PGV's definitions where those
 * are precise (host names, header regexes) and approximate them with the JDK where PGV leans on
 * Go's standard library (URIs, e-mail addresses); each method says which.
 */
final class WellKnownFormats {
  private WellKnownFormats() {}

  // `well_known_regex` as validate.proto defines it. Strict (the default) is RFC 7230: a header
  // name is a token (tchar+) with an optional leading ':' for HTTP/2 pseudo-headers; a header
  // value has no control characters other than horizontal tab. Non-strict only disallows NUL, CR
  // and LF, which is what would let a value split or end a header.
  private static final Pattern HEADER_NAME_STRICT = Pattern.compile("^:?[0-9a-zA-Z!#$%&'*+\\-.^_|~`]+$");
  private static final Pattern HEADER_VALUE_STRICT = Pattern.compile("^[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$");
  private static final Pattern HEADER_LOOSE = Pattern.compile("^[^\\x00\\x0A\\x0D]*$");
  private static final Pattern UUID =
      Pattern.compile("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?");

  static boolean httpHeaderName(String s, boolean strict) {
    return (strict ? HEADER_NAME_STRICT : HEADER_LOOSE).matcher(s).matches();
  }

  static boolean httpHeaderValue(String s, boolean strict) {
    return (strict ? HEADER_VALUE_STRICT : HEADER_LOOSE).matcher(s).matches();
  }

  /**
   * RFC 1034 host name as PGV checks it: one trailing dot allowed, at most 253 characters, labels
   * of 1..63 letters, digits and hyphens, not starting or ending with a hyphen.
   */
  static boolean hostname(String s) {
    String h = s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    if (h.isEmpty() || h.length() > 253) {
      return false;
    }
    for (String label : h.split("\\.", -1)) {
      if (label.length() > 63 || !LABEL.matcher(label).matches()) {
        return false;
      }
    }
    return true;
  }

  /** An IPv4 or IPv6 literal (no brackets, no zone), never resolved. */
  static boolean ip(String s) {
    return !s.contains("%") && InetAddresses.isInetAddress(s);
  }

  static boolean ipv4(String s) {
    return ip(s) && !s.contains(":");
  }

  static boolean ipv6(String s) {
    return ip(s) && s.contains(":");
  }

  /** PGV's {@code address}: an IP literal or a host name. */
  static boolean address(String s) {
    return ip(s) || hostname(s);
  }

  /** Approximates Go's {@code url.Parse} + {@code IsAbs()} with {@link URI}: parses and has a scheme. */
  static boolean uri(String s) {
    URI u = parseUri(s);
    return u != null && u.isAbsolute();
  }

  /** Approximates PGV's {@code uri_ref}: anything {@link URI} parses, relative or absolute. */
  static boolean uriRef(String s) {
    return parseUri(s) != null;
  }

  /**
   * Approximates PGV's e-mail check (Go's {@code net/mail} plus a host-name check of the domain):
   * a non-empty local part of at most 64 characters without spaces or angle brackets, an '@', and
   * a host name.
   */
  static boolean email(String s) {
    int at = s.lastIndexOf('@');
    if (at <= 0 || at > 64) {
      return false;
    }
    String local = s.substring(0, at);
    if (local.chars().anyMatch(c -> c <= ' ' || c == '<' || c == '>' || c == '@' || c == 0x7F)) {
      return false;
    }
    return hostname(s.substring(at + 1));
  }

  static boolean uuid(String s) {
    return UUID.matcher(s).matches();
  }

  private static URI parseUri(String s) {
    try {
      return new URI(s);
    } catch (URISyntaxException e) {
      return null;
    }
  }
}
