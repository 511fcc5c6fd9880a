package dev.rotor.xds.validate;

import static java.util.Objects.requireNonNull;

/**
 * One broken constraint in a message.
 *
 * @param fieldPath where, from the validated message down: {@code filter_chains[0].filters[0]
 *     .typed_config(envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager)
 *     .stat_prefix}; a map entry is {@code name["key"]}
 * @param rule the rule in protoc-gen-validate terms ({@code string.min_len}, {@code
 *     oneof.required}, {@code duration.gt}), or {@code unsupported rule} for a rule this validator
 *     cannot check (reported, never skipped)
 * @param message the bad value and what was expected, e.g. {@code 70000 (expected: <= 65535)}
 */
public record Violation(String fieldPath, String rule, String message) {

  /** The rule name of a violation for a rule this validator does not implement. */
  public static final String UNSUPPORTED_RULE = "unsupported rule";

  public Violation {
    requireNonNull(fieldPath, "fieldPath");
    requireNonNull(rule, "rule");
    requireNonNull(message, "message");
  }

  @Override
  public String toString() {
    return fieldPath + ": " + message + " [" + rule + "]";
  }
}
