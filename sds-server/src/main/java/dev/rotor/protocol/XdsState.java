package dev.rotor.protocol;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Status;
import java.util.Optional;
import java.util.Set;

/**
 * Everything Rotor serves at one moment, for every type. Immutable: a change is a new state
 * swapped into the {@link ResourceStore} whole.
 */
public interface XdsState {

  /** Monotonic generation, increasing with every published state. */
  long generation();

  /** {@link System#nanoTime()} when the change that produced this state arrived (for push latency). */
  long changedAtNanos();

  /** Type URLs this state can serve. */
  Set<String> typeUrls();

  /**
   * What a stream from {@code node}, opened by {@code caller}, may see of {@code typeUrl}: never
   * more than the caller is entitled to ({@link Caller}). Unknown types give an empty view.
   */
  TypeView view(String typeUrl, Node node, Caller caller);

  /**
   * Whether {@code caller} may present itself as {@code node} at all; asked once per stream, when
   * its node is known, and for each fetch. Empty when it may; else the status to refuse it with.
   */
  default Optional<Status> nodeRefusal(Node node, Caller caller) {
    return Optional.empty();
  }
}
