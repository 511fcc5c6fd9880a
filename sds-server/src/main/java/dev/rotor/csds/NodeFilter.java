package dev.rotor.csds;

import io.envoyproxy.envoy.type.matcher.v3.NodeMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** CSDS's node matchers on node ids (OR over matchers; none matches every node). */
final class NodeFilter {

  private final List<Predicate<String>> matchers;

  private NodeFilter(List<Predicate<String>> matchers) {
    this.matchers = matchers;
  }

  /** @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT naming the unsupported or bad matcher */
  static NodeFilter of(List<NodeMatcher> in) {
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
        try {
          Pattern p = Pattern.compile(m.getSafeRegex().getRegex(), ic ? Pattern.CASE_INSENSITIVE : 0);
          return id -> p.matcher(id).matches();
        } catch (PatternSyntaxException e) {
          throw invalid(field + ".safe_regex: not a valid regular expression (" + e.getDescription() + ")");
        }
      default:
        throw invalid(field + ": " + m.getMatchPatternCase() + " not supported (expected: exact, prefix, suffix,"
            + " contains or safe_regex)");
    }
  }

  private static String fold(String s, boolean ignoreCase) {
    return ignoreCase ? s.toLowerCase(Locale.ROOT) : s;
  }

  private static io.grpc.StatusRuntimeException invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
  }
}
