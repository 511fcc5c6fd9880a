package dev.rotor.csds;

import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import io.envoyproxy.envoy.type.matcher.v3.NodeMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * CSDS's node matchers on node ids (OR over matchers; none matches every node). Matchers come from
 * the caller, so each is bounded: {@code safe_regex} runs on RE2/J (linear time, the RE2 syntax
 * Envoy's {@code safe_regex} means; {@code java.util.regex} backtracks: {@code (.*a){12}$} against
 * a 40-character node id ran for minutes), its pattern is short and compiles to a small program
 * ({@link RegexSize}), and it is never run on an overlong node id.
 */
final class NodeFilter {

  /** node_matchers per request. */
  static final int MAX_MATCHERS = 16;

  /** Characters of a safe_regex pattern. */
  static final int MAX_REGEX_LENGTH = 1024;

  /** {@link RegexSize} of a safe_regex; Envoy's own default limit on RE2 program size is 100. */
  static final long MAX_REGEX_SIZE = 1000;

  /** A node id longer than this matches no safe_regex (it is not matched at all: linear is still work). */
  static final int MAX_REGEX_SUBJECT_LENGTH = 1024;

  private final List<Predicate<String>> matchers;

  private NodeFilter(List<Predicate<String>> matchers) {
    this.matchers = matchers;
  }

  /** @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT naming the unsupported or bad matcher */
  static NodeFilter of(List<NodeMatcher> in) {
    if (in.size() > MAX_MATCHERS) {
      throw invalid("node_matchers: " + in.size() + " matchers (expected: at most " + MAX_MATCHERS + ")");
    }
    List<Predicate<String>> out = new ArrayList<>();
    for (int i = 0; i < in.size(); i++) {
      NodeMatcher m = in.get(i);
      String field = "node_matchers[" + i + "]";
      if (m.getNodeMetadatasCount() > 0) {
        throw invalid(field + ".node_metadatas: not supported (expected: node_id matchers only)");
      }
      out.add(m.hasNodeId() ? string(field + ".node_id", m.getNodeId()) : id -> true);
    }
    return new NodeFilter(List.copyOf(out));
  }

  boolean matches(String nodeId) {
    return matchers.isEmpty() || matchers.stream().anyMatch(p -> p.test(nodeId));
  }

  private static Predicate<String> string(String field, StringMatcher m) {
    boolean ic = m.getIgnoreCase();
    switch (m.getMatchPatternCase()) {
      case EXACT:
        return id -> ic ? id.equalsIgnoreCase(m.getExact()) : id.equals(m.getExact());
      case PREFIX:
        return id -> fold(id, ic).startsWith(fold(m.getPrefix(), ic));
      case SUFFIX:
        return id -> fold(id, ic).endsWith(fold(m.getSuffix(), ic));
      case CONTAINS:
        return id -> fold(id, ic).contains(fold(m.getContains(), ic));
      case SAFE_REGEX:
        return regex(field + ".safe_regex", m.getSafeRegex().getRegex(), ic);
      default:
        throw invalid(field + ": " + m.getMatchPatternCase() + " not supported (expected: exact, prefix, suffix,"
            + " contains or safe_regex)");
    }
  }

  private static Predicate<String> regex(String field, String regex, boolean ignoreCase) {
    if (regex.length() > MAX_REGEX_LENGTH) {
      throw invalid(field + ": " + regex.length() + " characters (expected: at most " + MAX_REGEX_LENGTH + ")");
    }
    long size = RegexSize.of(regex);
    if (size > MAX_REGEX_SIZE) {
      throw invalid(field + ": too complex (nested or large counted repetitions; expected: a program of at most "
          + MAX_REGEX_SIZE + " steps, this one about " + Math.min(size, 1_000_000_000L) + ")");
    }
    Pattern p;
    try {
      p = Pattern.compile(regex, ignoreCase ? Pattern.CASE_INSENSITIVE : 0);
    } catch (PatternSyntaxException e) {
      throw invalid(field + ": not a valid RE2 regular expression (" + e.getDescription() + ")");
    }
    return id -> id.length() <= MAX_REGEX_SUBJECT_LENGTH && p.matches(id);
  }

  private static String fold(String s, boolean ignoreCase) {
    return ignoreCase ? s.toLowerCase(Locale.ROOT) : s;
  }

  private static io.grpc.StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }
}
