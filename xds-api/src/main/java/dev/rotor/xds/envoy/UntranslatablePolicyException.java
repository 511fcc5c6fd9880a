package dev.rotor.xds.envoy;

/**
 * A policy (or a part of it) that cannot be expressed as Envoy configuration. Rotor then refuses
 * the policy instead of emitting anything wider: a rule is never dropped or loosened.
 */
public final class UntranslatablePolicyException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public UntranslatablePolicyException(String message) {
    super(message);
  }
}
