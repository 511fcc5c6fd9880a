package dev.rotor.xds.validate;

import static dev.rotor.xds.validate.Violations.quote;

import com.google.protobuf.ByteString;
import io.envoyproxy.pgv.validate.Validate.BytesRules;
import io.envoyproxy.pgv.validate.Validate.KnownRegex;
import io.envoyproxy.pgv.validate.Validate.StringRules;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** String and bytes rules. Lengths in runes (code points) for {@code len}, in UTF-8 bytes for {@code *_bytes}. */
final class TextRules {
  private TextRules() {}

  private static final Set<String> STRING_RULES = Set.of(
      "const", "len", "min_len", "max_len", "len_bytes", "min_bytes", "max_bytes", "pattern", "prefix",
      "suffix", "contains", "not_contains", "in", "not_in", "email", "hostname", "ip", "ipv4", "ipv6", "uri",
      "uri_ref", "address", "uuid", "well_known_regex", "strict", "ignore_empty");
  private static final Set<String> BYTES_RULES = Set.of(
      "const", "len", "min_len", "max_len", "pattern", "prefix", "suffix", "contains", "in", "not_in", "ip",
      "ipv4", "ipv6", "ignore_empty");

  /** RE2 patterns from validate.proto, compiled once; Envoy's protos use only the common subset. */
  private static final Map<String, Pattern> PATTERNS = new ConcurrentHashMap<>();

  static void checkString(StringRules r, String s, String path, Violations out) {
    out.requireKnownRules(path, "string", r, STRING_RULES);
    if (r.getIgnoreEmpty() && s.isEmpty()) {
      return;
    }
    long runes = s.codePointCount(0, s.length());
    long bytes = s.getBytes(StandardCharsets.UTF_8).length;
    String v = quote(s);
    if (r.hasConst() && !s.equals(r.getConst())) {
      out.add(path, "string.const", v + " (expected: " + quote(r.getConst()) + ")");
    }
    if (r.hasLen() && runes != r.getLen()) {
      out.add(path, "string.len", v + " has " + runes + " characters (expected: exactly " + r.getLen() + ")");
    }
    if (r.hasMinLen() && runes < r.getMinLen()) {
      out.add(path, "string.min_len", v + " has " + runes + " characters (expected: at least " + r.getMinLen() + ")");
    }
    if (r.hasMaxLen() && runes > r.getMaxLen()) {
      out.add(path, "string.max_len", v + " has " + runes + " characters (expected: at most " + r.getMaxLen() + ")");
    }
    if (r.hasLenBytes() && bytes != r.getLenBytes()) {
      out.add(path, "string.len_bytes", v + " has " + bytes + " bytes (expected: exactly " + r.getLenBytes() + ")");
    }
    if (r.hasMinBytes() && bytes < r.getMinBytes()) {
      out.add(path, "string.min_bytes", v + " has " + bytes + " bytes (expected: at least " + r.getMinBytes() + ")");
    }
    if (r.hasMaxBytes() && bytes > r.getMaxBytes()) {
      out.add(path, "string.max_bytes", v + " has " + bytes + " bytes (expected: at most " + r.getMaxBytes() + ")");
    }
    if (r.hasPattern()) {
      Pattern p = compile(r.getPattern(), path, "string.pattern", out);
      if (p != null && !p.matcher(s).find()) {
        out.add(path, "string.pattern", v + " (expected: matching " + r.getPattern() + ")");
      }
    }
    if (r.hasPrefix() && !s.startsWith(r.getPrefix())) {
      out.add(path, "string.prefix", v + " (expected: starting with " + quote(r.getPrefix()) + ")");
    }
    if (r.hasSuffix() && !s.endsWith(r.getSuffix())) {
      out.add(path, "string.suffix", v + " (expected: ending with " + quote(r.getSuffix()) + ")");
    }
    if (r.hasContains() && !s.contains(r.getContains())) {
      out.add(path, "string.contains", v + " (expected: containing " + quote(r.getContains()) + ")");
    }
    if (r.hasNotContains() && s.contains(r.getNotContains())) {
      out.add(path, "string.not_contains", v + " (expected: not containing " + quote(r.getNotContains()) + ")");
    }
    if (r.getInCount() > 0 && !r.getInList().contains(s)) {
      out.add(path, "string.in", v + " (expected: one of " + r.getInList() + ")");
    }
    if (r.getNotInList().contains(s)) {
      out.add(path, "string.not_in", v + " (expected: none of " + r.getNotInList() + ")");
    }
    checkWellKnown(r, s, path, out);
  }

  private static void checkWellKnown(StringRules r, String s, String path, Violations out) {
    String v = quote(s);
    switch (r.getWellKnownCase()) {
      case WELLKNOWN_NOT_SET -> { }
      case EMAIL -> require(!r.getEmail() || WellKnownFormats.email(s), path, "string.email", v, "an e-mail address", out);
      case HOSTNAME -> require(!r.getHostname() || WellKnownFormats.hostname(s), path, "string.hostname", v, "a host name", out);
      case IP -> require(!r.getIp() || WellKnownFormats.ip(s), path, "string.ip", v, "an IP address", out);
      case IPV4 -> require(!r.getIpv4() || WellKnownFormats.ipv4(s), path, "string.ipv4", v, "an IPv4 address", out);
      case IPV6 -> require(!r.getIpv6() || WellKnownFormats.ipv6(s), path, "string.ipv6", v, "an IPv6 address", out);
      case URI -> require(!r.getUri() || WellKnownFormats.uri(s), path, "string.uri", v, "an absolute URI", out);
      case URI_REF -> require(!r.getUriRef() || WellKnownFormats.uriRef(s), path, "string.uri_ref", v, "a URI reference", out);
      case ADDRESS -> require(!r.getAddress() || WellKnownFormats.address(s), path, "string.address", v,
          "an IP address or host name", out);
      case UUID -> require(!r.getUuid() || WellKnownFormats.uuid(s), path, "string.uuid", v, "a UUID", out);
      case WELL_KNOWN_REGEX -> {
        // `strict` defaults to true in validate.proto: getStrict() returns that default when unset.
        boolean strict = r.getStrict();
        KnownRegex kr = r.getWellKnownRegex();
        if (kr == KnownRegex.HTTP_HEADER_NAME) {
          require(WellKnownFormats.httpHeaderName(s, strict), path, "string.well_known_regex", v,
              strict ? "an HTTP header name (RFC 7230 token, optional leading ':')" : "no NUL, CR or LF", out);
        } else if (kr == KnownRegex.HTTP_HEADER_VALUE) {
          require(WellKnownFormats.httpHeaderValue(s, strict), path, "string.well_known_regex", v,
              strict ? "an HTTP header value (no control characters but tab)" : "no NUL, CR or LF", out);
        } else {
          out.unsupported(path, "string.well_known_regex", "regex " + kr + " is not known to Rotor's validator");
        }
      }
    }
  }

  static void checkBytes(BytesRules r, ByteString b, String path, Violations out) {
    out.requireKnownRules(path, "bytes", r, BYTES_RULES);
    if (r.getIgnoreEmpty() && b.isEmpty()) {
      return;
    }
    String v = b.size() + " bytes";
    if (r.hasConst() && !b.equals(r.getConst())) {
      out.add(path, "bytes.const", v + " (expected: equal to the constant)");
    }
    if (r.hasLen() && b.size() != r.getLen()) {
      out.add(path, "bytes.len", v + " (expected: exactly " + r.getLen() + ")");
    }
    if (r.hasMinLen() && b.size() < r.getMinLen()) {
      out.add(path, "bytes.min_len", v + " (expected: at least " + r.getMinLen() + ")");
    }
    if (r.hasMaxLen() && b.size() > r.getMaxLen()) {
      out.add(path, "bytes.max_len", v + " (expected: at most " + r.getMaxLen() + ")");
    }
    if (r.hasPattern()) {
      Pattern p = compile(r.getPattern(), path, "bytes.pattern", out);
      // RE2 on bytes matches them as Latin-1-like code units; ISO-8859-1 maps each byte to one char.
      if (p != null && !p.matcher(new String(b.toByteArray(), StandardCharsets.ISO_8859_1)).find()) {
        out.add(path, "bytes.pattern", v + " (expected: matching " + r.getPattern() + ")");
      }
    }
    if (r.hasPrefix() && !b.startsWith(r.getPrefix())) {
      out.add(path, "bytes.prefix", v + " (expected: starting with the given prefix)");
    }
    if (r.hasSuffix() && !b.endsWith(r.getSuffix())) {
      out.add(path, "bytes.suffix", v + " (expected: ending with the given suffix)");
    }
    if (r.hasContains() && indexOf(b, r.getContains()) < 0) {
      out.add(path, "bytes.contains", v + " (expected: containing the given bytes)");
    }
    if (r.getInCount() > 0 && !r.getInList().contains(b)) {
      out.add(path, "bytes.in", v + " (expected: one of " + r.getInCount() + " given values)");
    }
    if (r.getNotInList().contains(b)) {
      out.add(path, "bytes.not_in", v + " (expected: none of " + r.getNotInCount() + " given values)");
    }
    switch (r.getWellKnownCase()) {
      case IP -> require(!r.getIp() || b.size() == 4 || b.size() == 16, path, "bytes.ip", v, "4 or 16 bytes", out);
      case IPV4 -> require(!r.getIpv4() || b.size() == 4, path, "bytes.ipv4", v, "4 bytes", out);
      case IPV6 -> require(!r.getIpv6() || b.size() == 16, path, "bytes.ipv6", v, "16 bytes", out);
      default -> { }
    }
  }

  private static void require(boolean ok, String path, String rule, String value, String expected, Violations out) {
    if (!ok) {
      out.add(path, rule, value + " (expected: " + expected + ")");
    }
  }

  private static Pattern compile(String re2, String path, String rule, Violations out) {
    try {
      return PATTERNS.computeIfAbsent(re2, Pattern::compile);
    } catch (PatternSyntaxException e) {
      out.unsupported(path, rule, "RE2 pattern " + quote(re2) + " is not a Java regex");
      return null;
    }
  }

  private static int indexOf(ByteString haystack, ByteString needle) {
    outer:
    for (int i = 0; i + needle.size() <= haystack.size(); i++) {
      for (int j = 0; j < needle.size(); j++) {
        if (haystack.byteAt(i + j) != needle.byteAt(j)) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
