package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

/**
 * A request-path condition of an HTTP rule. In the file, {@code /api/} is a prefix (it must end
 * with '/', so it matches whole segments) and {@code =/health} is an exact path. Matching is
 * case-sensitive and against the path without its query string, as Envoy's RBAC {@code url_path}
 * matcher does.
 *
 * @param kind exact or prefix
 * @param value the path, always starting with '/'; for {@link Kind#PREFIX} also ending with '/';
 *     without the {@code =} marker
 */
public record PathMatcher(Kind kind, String value) {

  /** How {@link #value} is compared with a request path. */
  public enum Kind {
    /** The request path equals the value. */
    EXACT,
    /** The request path starts with the value (which ends with '/'). */
    PREFIX
  }

  public PathMatcher {
    requireNonNull(kind, "kind");
    requireNonNull(value, "value");
    PolicyValues.require(PolicyValues.pathValue(kind, value), "value");
  }

  public static PathMatcher exact(String path) {
    return new PathMatcher(Kind.EXACT, path);
  }

  public static PathMatcher prefix(String prefix) {
    return new PathMatcher(Kind.PREFIX, prefix);
  }

  /** Whether a request path (without query string) meets this condition. */
  public boolean matches(String path) {
    return switch (kind) {
      case EXACT -> value.equals(path);
      case PREFIX -> path.startsWith(value);
    };
  }

  /** The spelling used in the policy file: {@code /api/} or {@code =/health}. */
  public String describe() {
    return kind == Kind.EXACT ? "=" + value : value;
  }
}
