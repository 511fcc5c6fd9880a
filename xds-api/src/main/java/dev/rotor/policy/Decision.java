package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * The answer of {@link PolicyExplainer#explain}: whether the request is allowed, which rule
 * decided it (none for a default deny or a request with no inbound to reach), and a one-line
 * reason such as {@code allowed by rules[0] (allow spiffe://example.org/ns/demo/sa/frontend)}.
 *
 * <p>Invariant: an allowed request always has its deciding rule, an allow rule; a deciding rule
 * always agrees with {@link #allowed}.
 */
public record Decision(boolean allowed, Optional<Rule> decidingRule, String reason) {

  public Decision {
    requireNonNull(decidingRule, "decidingRule");
    requireNonNull(reason, "reason");
    if (allowed && decidingRule.isEmpty()) {
      throw new IllegalArgumentException("decidingRule: empty for an allowed request (expected: the allow rule)");
    }
    decidingRule.ifPresent(r -> {
      if ((r.action() == Action.ALLOW) != allowed) {
        throw new IllegalArgumentException("decidingRule: rules[" + r.index() + "] is " + r.action().yamlName()
            + " (expected: " + (allowed ? "allow" : "deny") + ")");
      }
    });
  }

  static Decision allowedBy(Rule r, String note) {
    return new Decision(true, Optional.of(r), "allowed by rules[" + r.index() + "] (" + r.describe() + ")" + note);
  }

  static Decision deniedBy(Rule r, String note) {
    return new Decision(false, Optional.of(r), "denied by rules[" + r.index() + "] (" + r.describe() + ")" + note);
  }

  static Decision denied(String why) {
    return new Decision(false, Optional.empty(), "denied: " + why);
  }
}
