package dev.rotor.sds.conformance;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.core.v3.BuildVersion;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.envoyproxy.envoy.type.v3.SemanticVersion;
import java.util.List;

/** Requests as Envoy writes them, and readers for what comes back. */
final class Wire {

  /** An Envoy 1.31 node, as every first request carries it. */
  static final Node NODE = envoyNode(1, 31);

  private Wire() {}

  static Node envoyNode(int major, int minor) {
    return Node.newBuilder().setId("envoy-frontend-1").setCluster("frontend")
        .setUserAgentName("envoy")
        .setUserAgentBuildVersion(BuildVersion.newBuilder()
            .setVersion(SemanticVersion.newBuilder().setMajorNumber(major).setMinorNumber(minor)))
        .build();
  }

  static Node nodeWithMetadata(String key, Value value) {
    return NODE.toBuilder().setMetadata(Struct.newBuilder().putFields(key, value)).build();
  }

  // ---- state of the world ----

  /** The first request of a stream: node, type, names; no version, no nonce. */
  static DiscoveryRequest subscribe(String... names) {
    return subscribe(NODE, names);
  }

  static DiscoveryRequest subscribe(Node node, String... names) {
    return DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(TypeUrls.SECRET)
        .addAllResourceNames(List.of(names)).build();
  }

  /** An ACK of {@code r} that (re)states the subscription; no node (set_node_on_first_message_only). */
  static DiscoveryRequest ack(DiscoveryResponse r, String... names) {
    return DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.SECRET).setVersionInfo(r.getVersionInfo())
        .setResponseNonce(r.getNonce()).addAllResourceNames(List.of(names)).build();
  }

  /** A NACK of {@code r}: Envoy reports the last version it accepted, the rejected nonce and why. */
  static DiscoveryRequest nack(DiscoveryResponse r, String lastAccepted, String... names) {
    return DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.SECRET).setVersionInfo(lastAccepted)
        .setResponseNonce(r.getNonce()).addAllResourceNames(List.of(names))
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage("Unexpected SDS secret (test)")).build();
  }

  static List<String> names(DiscoveryResponse r) {
    return r.getResourcesList().stream().map(Wire::secret).map(Secret::getName).toList();
  }

  static Secret secret(DiscoveryResponse r, String name) {
    return r.getResourcesList().stream().map(Wire::secret).filter(s -> s.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no secret " + name + " in the response; it has " + names(r)));
  }

  // ---- delta ----

  static DeltaDiscoveryRequest deltaSubscribe(String... names) {
    return DeltaDiscoveryRequest.newBuilder().setNode(NODE).setTypeUrl(TypeUrls.SECRET)
        .addAllResourceNamesSubscribe(List.of(names)).build();
  }

  static DeltaDiscoveryRequest.Builder deltaNext(DeltaDiscoveryResponse r) {
    return DeltaDiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.SECRET).setResponseNonce(r.getNonce());
  }

  static DeltaDiscoveryRequest deltaAck(DeltaDiscoveryResponse r) {
    return deltaNext(r).build();
  }

  static DeltaDiscoveryRequest deltaNack(DeltaDiscoveryResponse r) {
    return deltaNext(r).setErrorDetail(Status.newBuilder().setCode(3).setMessage("Unexpected SDS secret (test)"))
        .build();
  }

  static List<String> names(DeltaDiscoveryResponse r) {
    return r.getResourcesList().stream().map(Resource::getName).toList();
  }

  static Resource resource(DeltaDiscoveryResponse r, String name) {
    return r.getResourcesList().stream().filter(x -> x.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no resource " + name + " in the response; it has " + names(r)));
  }

  // ---- secrets ----

  static Secret secret(Any any) {
    try {
      return any.unpack(Secret.class);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("resource is not a Secret: " + any.getTypeUrl(), e);
    }
  }

  /** True if the validation context uses trusted_ca, false if the SPIFFE validator. */
  static boolean usesTrustedCa(Secret s) {
    if (!s.hasValidationContext()) {
      throw new AssertionError("secret " + s.getName() + " is not a validation context");
    }
    return s.getValidationContext().hasTrustedCa() && !s.getValidationContext().hasCustomValidatorConfig();
  }
}
