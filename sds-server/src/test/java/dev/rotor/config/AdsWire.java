package dev.rotor.config;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.Status;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.BuildVersion;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.type.v3.SemanticVersion;
import java.util.List;

/** Requests as an Envoy on ADS writes them, and readers for what comes back. */
final class AdsWire {

  static final String SDS = TypeUrls.SECRET;
  static final String LDS = TypeUrls.LISTENER;
  static final String CDS = TypeUrls.CLUSTER;

  private AdsWire() {}

  /** An Envoy 1.31 node with this {@code node.id}, as every first request carries it. */
  static Node node(String id) {
    return Node.newBuilder().setId(id).setCluster(id)
        .setUserAgentName("envoy")
        .setUserAgentBuildVersion(BuildVersion.newBuilder()
            .setVersion(SemanticVersion.newBuilder().setMajorNumber(1).setMinorNumber(31)))
        .build();
  }

  // ---- state of the world ----

  /** The first request of a type on a stream: node, type, names (none = wildcard); no version, no nonce. */
  static DiscoveryRequest subscribe(Node node, String typeUrl, String... names) {
    return DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl).addAllResourceNames(List.of(names)).build();
  }

  /** An ACK of {@code r} that restates the subscription; no node (set_node_on_first_message_only). */
  static DiscoveryRequest ack(DiscoveryResponse r, String... names) {
    return DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo(r.getVersionInfo())
        .setResponseNonce(r.getNonce()).addAllResourceNames(List.of(names)).build();
  }

  /** A NACK of {@code r}: Envoy reports the last version it accepted, the rejected nonce and why. */
  static DiscoveryRequest nack(DiscoveryResponse r, String lastAccepted, String... names) {
    return DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo(lastAccepted)
        .setResponseNonce(r.getNonce()).addAllResourceNames(List.of(names))
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage("rejected by the test peer")).build();
  }

  // ---- delta ----

  static DeltaDiscoveryRequest deltaSubscribe(Node node, String typeUrl, String... names) {
    return DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl)
        .addAllResourceNamesSubscribe(List.of(names)).build();
  }

  static DeltaDiscoveryRequest deltaAck(DeltaDiscoveryResponse r) {
    return DeltaDiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setResponseNonce(r.getNonce()).build();
  }

  static DeltaDiscoveryRequest deltaNack(DeltaDiscoveryResponse r) {
    return DeltaDiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setResponseNonce(r.getNonce())
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage("rejected by the test peer")).build();
  }

  // ---- readers ----

  static List<String> names(DiscoveryResponse r) {
    return r.getResourcesList().stream().map(AdsWire::name).toList();
  }

  static List<String> names(DeltaDiscoveryResponse r) {
    return r.getResourcesList().stream().map(io.envoyproxy.envoy.service.discovery.v3.Resource::getName).toList();
  }

  static List<Listener> listeners(DiscoveryResponse r) {
    return r.getResourcesList().stream().map(a -> unpack(a, Listener.class)).toList();
  }

  static List<Cluster> clusters(DiscoveryResponse r) {
    return r.getResourcesList().stream().map(a -> unpack(a, Cluster.class)).toList();
  }

  static Listener listener(DiscoveryResponse r, String name) {
    return listeners(r).stream().filter(l -> l.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no listener " + name + " in the response; it has " + names(r)));
  }

  static Listener listener(DeltaDiscoveryResponse r, String name) {
    return r.getResourcesList().stream().filter(x -> x.getName().equals(name)).findFirst()
        .map(x -> unpack(x.getResource(), Listener.class))
        .orElseThrow(() -> new AssertionError("no listener " + name + " in the response; it has " + names(r)));
  }

  /** The resource's own name, read from its body. */
  static String name(Any any) {
    switch (any.getTypeUrl()) {
      case TypeUrls.LISTENER:
        return unpack(any, Listener.class).getName();
      case TypeUrls.CLUSTER:
        return unpack(any, Cluster.class).getName();
      case TypeUrls.SECRET:
        return unpack(any, Secret.class).getName();
      default:
        throw new AssertionError("unexpected resource type " + any.getTypeUrl());
    }
  }

  static <T extends Message> T unpack(Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("resource is not a " + type.getSimpleName() + ": " + any.getTypeUrl(), e);
    }
  }

  static String shortType(String typeUrl) {
    return TypeUrls.shortName(typeUrl);
  }
}
