package dev.rotor.status;

import static java.util.Objects.requireNonNull;

import dev.rotor.protocol.Caller;
import dev.rotor.protocol.StreamInfo;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One open xDS stream as of one moment: who is on the other end and, per resource type, what was
 * sent, ACKed and NACKed. Immutable; {@link StreamRegistry} publishes a new one after every event.
 *
 * @param id the engine's stream id
 * @param kind which service and variant (SotW or delta)
 * @param caller who opened the stream, as the transport authenticated it
 * @param node the node from the stream's first request (default instance until then)
 * @param openedAt when the stream opened
 * @param types per type URL, in push order
 */
public record StreamStatus(long id, StreamInfo.Kind kind, Caller caller, Node node, Instant openedAt,
    Map<String, TypeStatus> types) {

  public StreamStatus {
    requireNonNull(kind, "kind");
    requireNonNull(caller, "caller");
    requireNonNull(node, "node");
    requireNonNull(openedAt, "openedAt");
    types = Collections.unmodifiableMap(new LinkedHashMap<>(requireNonNull(types, "types")));
  }

  /** The transport's description of the caller: {@code uid=...} or a SPIFFE ID. */
  public String peer() {
    return caller.describe();
  }

  public String nodeId() {
    return node.getId();
  }
}
