package dev.rotor.source;

import dev.rotor.identity.IdentitySnapshot;

/** Receives what an {@link IdentitySource} produces. Implementations must be thread-safe. */
public interface IdentityListener {

  /** A new candidate snapshot (not yet checked by the gate). */
  void onSnapshot(IdentitySnapshot candidate);

  /**
   * The source could not deliver (agent unreachable, stream broken, ...). The source keeps retrying
   * on its own; the last good identities stay in force downstream.
   */
  void onSourceError(String reason, Throwable cause);
}
