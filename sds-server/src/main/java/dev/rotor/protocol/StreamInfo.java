package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import dev.rotor.text.EchoedText;
import io.envoyproxy.envoy.config.core.v3.Node;

/**
 * Who is on the other end of one stream, for logs, metrics, status and what the stream may receive.
 * Mutable only in {@code node}, which is set from the first request and read by listeners on the
 * stream's own executor; it holds only the fields Rotor reads ({@link NodeFields}), never the
 * client's whole node.
 */
public final class StreamInfo {

  /** Which service the stream belongs to. */
  public enum Kind {
    SDS_SOTW, SDS_DELTA, ADS_SOTW, ADS_DELTA, LDS_SOTW, LDS_DELTA, CDS_SOTW, CDS_DELTA;

    public boolean delta() {
      return name().endsWith("_DELTA");
    }

    public boolean ads() {
      return this == ADS_SOTW || this == ADS_DELTA;
    }
  }

  private final long id;
  private final Kind kind;
  private final Caller caller;
  private volatile Node node = Node.getDefaultInstance();

  public StreamInfo(long id, Kind kind, Caller caller) {
    this.id = id;
    this.kind = requireNonNull(kind, "kind");
    this.caller = requireNonNull(caller, "caller");
  }

  public long id() {
    return id;
  }

  public Kind kind() {
    return kind;
  }

  /** e.g. {@code uid=101 pid=7} or {@code spiffe://example.org/envoy}. */
  public String peer() {
    return caller.describe();
  }

  /** Who opened the stream, and so what it may receive. */
  public Caller caller() {
    return caller;
  }

  public Node node() {
    return node;
  }

  public String nodeId() {
    return node.getId();
  }

  void setNode(Node node) {
    this.node = requireNonNull(node, "node");
  }

  @Override
  public String toString() {
    return "stream " + id + " (" + kind + ", node=" + EchoedText.clip(node.getId(), 200) + ", peer="
        + caller.describe() + ")";
  }
}
