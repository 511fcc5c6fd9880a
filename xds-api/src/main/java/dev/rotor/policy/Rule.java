package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * One entry of an inbound section's {@code rules}. A request matches the rule when its peer
 * matches any {@link #from} entry, and (HTTP only) its method is one of {@link #methods} (if any
 * are listed) and its path meets one of {@link #paths} (if any are listed).
 *
 * @param index position in the file's {@code rules} list (0-based); names the rule in errors and
 *     explanations ({@code rules[2]}) and is the tie-breaker that keeps file order
 * @param action allow or deny
 * @param from peers the rule is about; at least one
 * @param methods upper-case HTTP methods, no duplicates; empty means any method
 * @param paths path conditions; empty means any path
 * @param description free text from the file, empty when absent
 */
public record Rule(
    int index, Action action, List<PeerMatcher> from, List<String> methods, List<PathMatcher> paths,
    String description) {

  public Rule {
    if (index < 0) {
      throw new IllegalArgumentException("index: " + index + " (expected: >= 0)");
    }
    requireNonNull(action, "action");
    from = List.copyOf(requireNonNull(from, "from"));
    methods = List.copyOf(requireNonNull(methods, "methods"));
    paths = List.copyOf(requireNonNull(paths, "paths"));
    requireNonNull(description, "description");
    if (from.isEmpty()) {
      throw new IllegalArgumentException("from: empty (expected: at least one peer matcher)");
    }
    for (int i = 0; i < methods.size(); i++) {
      PolicyValues.require(PolicyValues.method(methods.get(i)), "methods[" + i + "]");
    }
    if (new HashSet<>(methods).size() != methods.size()) {
      throw new IllegalArgumentException("methods: " + methods + " has duplicates");
    }
  }

  /** Whether the rule restricts anything beyond the peer (it then needs an HTTP listener). */
  public boolean hasHttpConditions() {
    return !methods.isEmpty() || !paths.isEmpty();
  }

  /** Whether the peer matches any {@link #from} entry. */
  public boolean matchesPeer(SpiffeId peer) {
    return from.stream().anyMatch(m -> m.matches(peer));
  }

  /**
   * Whether the request matches the rule. An absent method or path matches only a rule that does
   * not restrict it (so a question that leaves them out is answered for "any method/path" only
   * where the rule does not care).
   */
  public boolean matches(SpiffeId peer, Optional<String> method, Optional<String> path) {
    if (!matchesPeer(peer)) {
      return false;
    }
    if (!methods.isEmpty() && (method.isEmpty() || !methods.contains(method.get()))) {
      return false;
    }
    return paths.isEmpty() || (path.isPresent() && paths.stream().anyMatch(p -> p.matches(path.get())));
  }

  /**
   * The rule in the file's terms, for explanations: {@code allow spiffe://example.org/ns/demo/sa/frontend
   * methods [GET] paths [/api/]}.
   */
  public String describe() {
    StringBuilder b = new StringBuilder(action.yamlName()).append(' ');
    b.append(from.stream().map(PeerMatcher::describe).collect(Collectors.joining(", ")));
    if (!methods.isEmpty()) {
      b.append(" methods ").append(methods);
    }
    if (!paths.isEmpty()) {
      b.append(" paths ").append(paths.stream().map(PathMatcher::describe).toList());
    }
    return b.toString();
  }
}
