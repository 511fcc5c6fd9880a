package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Status;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * Applies {@link StreamLimits} to requests and counts what it refuses; one per {@link
 * XdsStreamFactory}, shared by its streams (thread-safe).
 */
final class StreamGuard {

  /** Why a stream or a request was refused. */
  enum Refusal {
    /** {@code --max-streams}: a stream over the limit was refused when it opened. */
    STREAM_LIMIT,
    /** {@code --max-node-bytes}, or a node id over {@link StreamLimits#MAX_NODE_ID_CHARS}. */
    NODE_TOO_LARGE,
    /** A delta stream's subscriptions, added up over its requests, passed the per-request name limit. */
    SUBSCRIPTION_LIMIT
  }

  private final StreamLimits limits;
  private final Map<Refusal, LongAdder> refusals = new EnumMap<>(Refusal.class);

  StreamGuard(StreamLimits limits) {
    this.limits = requireNonNull(limits, "limits");
    for (Refusal r : Refusal.values()) {
      refusals.put(r, new LongAdder());
    }
  }

  StreamLimits limits() {
    return limits;
  }

  /** @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT when the node is over the limits */
  void checkNode(Node node) {
    Optional<String> problem = NodeFields.problem(node, limits.maxNodeBytes());
    if (problem.isPresent()) {
      count(Refusal.NODE_TOO_LARGE);
      throw Status.INVALID_ARGUMENT.withDescription(problem.get()).asRuntimeException();
    }
  }

  /** @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT when a stream subscribes to more than {@code max} names */
  void checkSubscribed(int names, int max) {
    if (names > max) {
      count(Refusal.SUBSCRIPTION_LIMIT);
      throw Status.INVALID_ARGUMENT.withDescription("resource_names_subscribe: " + names
          + " names subscribed on this stream (expected: at most " + max + ")").asRuntimeException();
    }
  }

  void count(Refusal r) {
    refusals.get(r).increment();
  }

  Map<Refusal, Long> refusals() {
    Map<Refusal, Long> m = new EnumMap<>(Refusal.class);
    refusals.forEach((r, n) -> m.put(r, n.sum()));
    return m;
  }
}
