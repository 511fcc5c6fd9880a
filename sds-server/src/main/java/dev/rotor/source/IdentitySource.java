package dev.rotor.source;

/**
 * Where identities come from: the SPIRE Workload API or the embedded development CA.
 *
 * <p>A source delivers <em>candidate</em> snapshots; it does not judge them. The identity gate
 * decides what may be served. A source keeps running until closed: it reconnects or re-issues on
 * its own and reports trouble through {@link IdentityListener#onSourceError}.
 */
public interface IdentitySource extends AutoCloseable {

  /** Starts delivering to {@code listener}. Called once. Returns without waiting for a snapshot. */
  void start(IdentityListener listener);

  /** A short description for logs, e.g. {@code workload-api unix:///run/spire/agent.sock}. */
  String describe();

  /** Stops all background work. Idempotent; never throws. */
  @Override
  void close();
}
