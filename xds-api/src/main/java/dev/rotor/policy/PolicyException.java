package dev.rotor.policy;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A policy file was rejected. Carries every problem found (the parser does not stop at the first),
 * so one run of {@code rotor policy check} shows all of them. The message is one error per line.
 */
public final class PolicyException extends Exception {

  private final List<PolicyError> errors;

  public PolicyException(List<PolicyError> errors) {
    super(describe(errors));
    this.errors = List.copyOf(errors);
    if (this.errors.isEmpty()) {
      throw new IllegalArgumentException("errors: empty (expected: at least one error)");
    }
  }

  /** Every problem, in the order they were found (document order, then cross-checks). */
  public List<PolicyError> errors() {
    return errors;
  }

  private static String describe(List<PolicyError> errors) {
    return errors.stream().map(PolicyError::toString).collect(Collectors.joining("\n"));
  }
}
