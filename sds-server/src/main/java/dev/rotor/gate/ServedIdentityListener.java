package dev.rotor.gate;

import dev.rotor.identity.IdentitySnapshot;

/**
 * Receives every snapshot the {@link IdentityGate} decides to serve: one that passed all checks,
 * or the served one with expired SVIDs withdrawn. Called on the gate's serialized context, one call
 * at a time and in order, with no gate lock held; an implementation may call back into the gate.
 */
@FunctionalInterface
public interface ServedIdentityListener {

  void onServed(IdentitySnapshot served);
}
