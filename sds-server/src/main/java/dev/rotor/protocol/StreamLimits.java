package dev.rotor.protocol;

/**
 * What the xDS streams of one Rotor may hold, whoever opens them (issue 13, finding 6: an allowed
 * client ran Rotor out of memory with 2 MB node ids kept by every stream, or 15,000 streams on one
 * connection). Checked when a stream opens and when a request arrives, never per push.
 *
 * @param maxStreams xDS streams open at once over every transport ({@code --max-streams}); one more
 *     is refused with RESOURCE_EXHAUSTED
 * @param maxNodeBytes the largest {@code node} a request may carry, serialized ({@code
 *     --max-node-bytes}); Envoy's, with its list of extensions, is tens of kilobytes
 */
public record StreamLimits(int maxStreams, int maxNodeBytes) {

  public static final StreamLimits DEFAULTS = new StreamLimits(4_096, 256 * 1024);

  /**
   * The longest node id accepted, in characters: the id chooses the policy workload, so it is
   * refused rather than cut; Kubernetes names stop at 253 characters and Istio-style ids stay
   * far below this.
   */
  public static final int MAX_NODE_ID_CHARS = 512;

  public StreamLimits {
    if (maxStreams < 1) {
      throw new IllegalArgumentException("maxStreams: " + maxStreams + " (expected: > 0)");
    }
    if (maxNodeBytes < 1024) {
      throw new IllegalArgumentException("maxNodeBytes: " + maxNodeBytes + " (expected: >= 1024)");
    }
  }
}
