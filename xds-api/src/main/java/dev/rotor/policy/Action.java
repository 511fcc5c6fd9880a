package dev.rotor.policy;

/**
 * What a {@link Rule} does to a request it matches. Deny rules are evaluated before allow rules,
 * whatever their order in the file (see {@link PolicyExplainer}).
 */
public enum Action {
  /** The request is allowed, unless a deny rule also matches it. */
  ALLOW,
  /** The request is denied, whatever allow rules say. */
  DENY;

  /** The spelling used in the policy file: {@code allow} or {@code deny}. */
  public String yamlName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
