package dev.rotor.policy;

import com.google.common.net.InetAddresses;
import com.google.common.net.InternetDomainName;
import io.spiffe.exception.InvalidSpiffeIdException;
import io.spiffe.spiffeid.SpiffeId;
import dev.rotor.text.EchoedText;
import io.spiffe.spiffeid.TrustDomain;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The value rules of the policy, in one place so the parser (which reports them with a file and a
 * field path) and the model's constructors (which enforce them for values built in code) cannot
 * drift apart. Each check returns the problem, phrased as {@code "<bad value>" is ... (expected
 * ...)}, or empty when the value is fine.
 */
final class PolicyValues {
  private PolicyValues() {}

  static final String NAME_PATTERN = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
  private static final Pattern NAME = Pattern.compile(NAME_PATTERN);
  static final int NAME_MAX = 63;
  private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z0-9_-]*");
  /** Characters a path matcher may hold: RFC 3986 path characters, no query or fragment. */
  private static final Pattern PATH_CHARS = Pattern.compile("/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*");

  static Optional<String> name(String value) {
    if (value.length() > NAME_MAX || !NAME.matcher(value).matches()) {
      return problem(value, "is not a valid name (expected " + NAME_PATTERN + ", at most " + NAME_MAX
          + " characters)");
    }
    return Optional.empty();
  }

  /** Durations in the file: a whole number and a unit, s (seconds), m (minutes) or h (hours). */
  static final Pattern DURATION = Pattern.compile("([1-9][0-9]{0,5})(s|m|h)");
  static final java.time.Duration MIN_CONNECTION_DURATION = java.time.Duration.ofSeconds(10);
  static final java.time.Duration MAX_CONNECTION_DURATION = java.time.Duration.ofHours(24);

  /** {@code "30s"}, {@code "10m"}, {@code "1h"} as a duration, or empty when it is not one. */
  static Optional<java.time.Duration> parseDuration(String value) {
    java.util.regex.Matcher m = DURATION.matcher(value);
    if (!m.matches()) {
      return Optional.empty();
    }
    long n = Long.parseLong(m.group(1));
    return Optional.of(switch (m.group(2)) {
      case "s" -> java.time.Duration.ofSeconds(n);
      case "m" -> java.time.Duration.ofMinutes(n);
      default -> java.time.Duration.ofHours(n);
    });
  }

  static Optional<String> maxConnectionDuration(String value) {
    Optional<java.time.Duration> d = parseDuration(value);
    if (d.isEmpty()) {
      return problem(value, "is not a duration (expected a whole number of s, m or h, such as 30s or 10m)");
    }
    return maxConnectionDuration(d.get()).map(problem -> PolicyValues.quote(value) + problem);
  }

  /** The range problem of a connection duration, phrased to follow the value; empty when fine. */
  static Optional<String> maxConnectionDuration(java.time.Duration d) {
    if (d.compareTo(MIN_CONNECTION_DURATION) < 0 || d.compareTo(MAX_CONNECTION_DURATION) > 0) {
      return Optional.of(" is out of range (expected 10s..24h, and at most a quarter of the SVID lifetime)");
    }
    return Optional.empty();
  }

  static Optional<String> port(int value) {
    if (value < 1 || value > 65535) {
      return Optional.of(value + " is out of range (expected 1..65535)");
    }
    return Optional.empty();
  }

  static Optional<String> nodeId(String value) {
    if (value.isEmpty() || !value.strip().equals(value) || value.chars().anyMatch(Character::isISOControl)) {
      return problem(value, "is not a valid node id (expected a non-empty Envoy node.id without"
          + " surrounding spaces or control characters)");
    }
    return Optional.empty();
  }

  static Optional<String> method(String value) {
    if (!METHOD.matcher(value).matches()) {
      return problem(value, "is not an HTTP method (expected an upper-case token such as GET or POST)");
    }
    return Optional.empty();
  }

  static Optional<String> host(String value) {
    if (InetAddresses.isInetAddress(value) || (InternetDomainName.isValid(value) && !value.endsWith("."))) {
      return Optional.empty();
    }
    return problem(value, "is not a host name or IP address");
  }

  /** The path of a path matcher, without the {@code =} that marks an exact one. */
  static Optional<String> pathValue(PathMatcher.Kind kind, String value) {
    if (!PATH_CHARS.matcher(value).matches()) {
      return problem(value, "is not a URL path (expected it to start with '/' and hold no query,"
          + " fragment or spaces)");
    }
    if (kind == PathMatcher.Kind.PREFIX && !value.endsWith("/")) {
      return problem(value, "is not a prefix path (expected it to end with '/')");
    }
    return Optional.empty();
  }

  /** A trust domain name as written in the file: the bare name, lower case. */
  static Optional<String> trustDomain(String value) {
    if (value.contains("://")) {
      return problem(value, "is not a trust domain name (expected a bare name such as example.org,"
          + " without spiffe://)");
    }
    TrustDomain td;
    try {
      td = TrustDomain.parse(value);
    } catch (IllegalArgumentException | InvalidSpiffeIdException e) {
      return problem(value, "is not a trust domain name: " + lowerFirst(e.getMessage())
          + " (expected a name such as example.org)");
    }
    if (!td.getName().equals(value)) {
      return problem(value, "is not in canonical form (expected " + td.getName() + ")");
    }
    return Optional.empty();
  }

  /** A workload's SPIFFE ID: a valid ID, in canonical form, with a non-empty path. */
  static Optional<String> spiffeId(String value) {
    SpiffeId id;
    try {
      id = SpiffeId.parse(value);
    } catch (IllegalArgumentException | InvalidSpiffeIdException e) {
      return problem(value, "is not a SPIFFE ID: " + lowerFirst(e.getMessage())
          + " (expected spiffe://<trust-domain>/<path>)");
    }
    if (id.getPath().isEmpty()) {
      return problem(value, "is a trust domain ID, not a workload ID (expected"
          + " spiffe://<trust-domain>/<path>)");
    }
    if (!id.toString().equals(value)) {
      return problem(value, "is not in canonical form (expected " + id + ")");
    }
    return Optional.empty();
  }

  static Optional<String> spiffeId(SpiffeId id) {
    return spiffeId(id.toString());
  }

  /**
   * An ID prefix: {@code spiffe://<trust-domain>/} followed by zero or more whole path segments,
   * each followed by '/', so the prefix can only match at a segment boundary.
   */
  static Optional<String> idPrefix(String value) {
    String expected = "(expected spiffe://<trust-domain>/<path>/, ending in '/')";
    if (!value.startsWith("spiffe://")) {
      return problem(value, "is not a SPIFFE ID prefix " + expected);
    }
    if (!value.endsWith("/")) {
      return problem(value, "does not end with '/' " + expected);
    }
    // "spiffe://" itself ends with '/': the trust domain is looked for after the scheme.
    String rest = value.substring("spiffe://".length());
    if (rest.isEmpty() || rest.startsWith("/")) {
      return problem(value, "has no trust domain " + expected);
    }
    String withoutSlash = value.substring(0, value.length() - 1);
    if (withoutSlash.endsWith("/") || withoutSlash.indexOf("//", "spiffe://".length()) >= 0) {
      return problem(value, "has an empty path segment " + expected);
    }
    try {
      SpiffeId id = SpiffeId.parse(withoutSlash);
      if (!id.toString().equals(withoutSlash)) {
        return problem(value, "is not in canonical form (expected " + id + "/)");
      }
    } catch (IllegalArgumentException | InvalidSpiffeIdException e) {
      return problem(value, "is not a SPIFFE ID prefix: " + lowerFirst(e.getMessage()) + " " + expected);
    }
    return Optional.empty();
  }

  /** Quoted, with every character outside printable ASCII escaped (see {@link EchoedText}). */
  static String quote(String value) {
    return EchoedText.quote(value);
  }

  /** Throws {@link IllegalArgumentException} naming the field when a check found a problem. */
  static void require(Optional<String> problem, String field) {
    if (problem.isPresent()) {
      throw new IllegalArgumentException(field + ": " + problem.get());
    }
  }

  private static Optional<String> problem(String value, String what) {
    return Optional.of(quote(value) + " " + what);
  }

  private static String lowerFirst(String s) {
    if (s == null || s.isEmpty()) {
      return "invalid";
    }
    return Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }
}
