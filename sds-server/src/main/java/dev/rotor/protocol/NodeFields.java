package dev.rotor.protocol;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.rotor.text.EchoedText;
import io.envoyproxy.envoy.config.core.v3.BuildVersion;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.Optional;

/**
 * The fields of an Envoy {@link Node} that Rotor reads, and nothing else: a stream keeps its
 * node for its whole life, and a client decides how big a node is (node ids and metadata of 2 MB
 * made 16 to 40 streams exhaust the demo's heap, issue 13, finding 6).
 *
 * <p>Kept: {@code id} (chooses the policy workload; refused when longer than {@link
 * StreamLimits#MAX_NODE_ID_CHARS}, never cut), {@code cluster} (shown in /status and CSDS), {@code
 * user_agent_name} and the user agent's version (an Envoy older than 1.18 gets {@code trusted_ca}),
 * and the metadata key {@value #SPIFFE_VALIDATION_KEY} when it is a bool or a short string. Text
 * fields other than the id are clipped.
 */
final class NodeFields {

  /** The node metadata key Rotor reads; {@code sds.ValidationForms.METADATA_KEY} names the same one. */
  static final String SPIFFE_VALIDATION_KEY = "disable_spiffe_cert_validation";
  static final int MAX_TEXT_CHARS = 128;

  private NodeFields() {}

  /** Why {@code node} is refused, or empty when it may be used. */
  static Optional<String> problem(Node node, int maxNodeBytes) {
    int size = node.getSerializedSize();
    if (size > maxNodeBytes) {
      return Optional.of("node: " + size + " bytes (expected: at most " + maxNodeBytes + ", --max-node-bytes)");
    }
    if (node.getId().length() > StreamLimits.MAX_NODE_ID_CHARS) {
      return Optional.of("node.id: " + node.getId().length() + " characters (expected: at most "
          + StreamLimits.MAX_NODE_ID_CHARS + ")");
    }
    return Optional.empty();
  }

  /** A new node with only the fields Rotor reads, text clipped to {@value #MAX_TEXT_CHARS} characters. */
  static Node kept(Node node) {
    Node.Builder b = Node.newBuilder()
        .setId(node.getId())
        .setCluster(clip(node.getCluster()))
        .setUserAgentName(clip(node.getUserAgentName()));
    switch (node.getUserAgentVersionTypeCase()) {
      case USER_AGENT_VERSION -> b.setUserAgentVersion(clip(node.getUserAgentVersion()));
      case USER_AGENT_BUILD_VERSION -> b.setUserAgentBuildVersion(
          BuildVersion.newBuilder().setVersion(node.getUserAgentBuildVersion().getVersion()));
      default -> {
        // no version given
      }
    }
    Value v = node.getMetadata().getFieldsMap().get(SPIFFE_VALIDATION_KEY);
    if (v != null && (v.hasBoolValue() || (v.hasStringValue() && v.getStringValue().length() <= 16))) {
      b.setMetadata(Struct.newBuilder().putFields(SPIFFE_VALIDATION_KEY, v));
    }
    return b.build();
  }

  private static String clip(String s) {
    return s.length() <= MAX_TEXT_CHARS ? s : EchoedText.clip(s, MAX_TEXT_CHARS);
  }
}
