package dev.rotor.protocol;

import io.envoyproxy.envoy.config.core.v3.Node;
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

  /** What a stream from {@code node} may see of {@code typeUrl}. Unknown types give an empty view. */
  TypeView view(String typeUrl, Node node);
}
