package dev.rotor.xds.validate;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.rbac.principals.mtls_authenticated.v3.Config;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.List;

/**
 * Checks a message against Envoy's own field constraints, the protoc-gen-validate (PGV) options
 * in Envoy's protos ({@code [(validate.rules).string = {min_len: 1}]} and friends), read from the
 * descriptors at run time. What Envoy would NACK for a PGV reason is found here, before it is sent.
 *
 * <p>Covered: field rules of every kind in validate.proto ({@code message}, numbers, bool, string
 * with its well-known formats and header regexes, bytes, enum, repeated with {@code items}, map
 * with {@code keys}/{@code values}, duration, timestamp, any), {@code validate.required} on
 * oneofs, {@code validate.disabled}/{@code ignored} on messages. Messages are checked
 * recursively, including those packed in {@code Any}, which are unpacked through a {@link
 * TypeRegistry}; an {@code Any} of a type the registry does not know is a violation.
 *
 * <p>Approximations, as PGV leans on Go's standard library there: {@code uri}/{@code uri_ref} use
 * {@link java.net.URI}, {@code email} checks the shape and the domain; RE2 patterns run as Java
 * regexes (Envoy's protos use only the common subset). Not implemented, and so always reported as
 * violations with rule {@value Violation#UNSUPPORTED_RULE}: the clock-dependent timestamp rules
 * {@code lt_now}, {@code gt_now}, {@code within}, and any rule newer than this validate.proto.
 *
 * <p>Not covered, because Envoy checks them in C++ rather than in its protos: cross-field
 * requirements such as "a listener needs an {@code address} unless it has an {@code
 * api_listener}", and whether an extension name is registered.
 */
public final class ProtoConstraints {

  /**
   * The types Rotor packs into {@code Any}s, and the top-level resources it serves: Listener,
   * Cluster, RouteConfiguration, ClusterLoadAssignment, Secret, HttpConnectionManager, Router,
   * RBAC (HTTP and network), TcpProxy, Downstream/UpstreamTlsContext, SPIFFECertValidatorConfig,
   * the {@code mtls_authenticated} principal's Config and HttpProtocolOptions. A {@link
   * TypeRegistry} also holds every message type of the files these are defined in and of their
   * imports.
   */
  public static final TypeRegistry ENVOY_TYPES = TypeRegistry.newBuilder()
      .add(List.of(
          Listener.getDescriptor(),
          Cluster.getDescriptor(),
          RouteConfiguration.getDescriptor(),
          ClusterLoadAssignment.getDescriptor(),
          Secret.getDescriptor(),
          HttpConnectionManager.getDescriptor(),
          Router.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.getDescriptor(),
          io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.getDescriptor(),
          TcpProxy.getDescriptor(),
          DownstreamTlsContext.getDescriptor(),
          UpstreamTlsContext.getDescriptor(),
          SPIFFECertValidatorConfig.getDescriptor(),
          Config.getDescriptor(),
          HttpProtocolOptions.getDescriptor()))
      .build();

  private ProtoConstraints() {}

  /** The violations in {@code message}, unpacking Anys with {@link #ENVOY_TYPES}; empty when valid. */
  public static List<Violation> validate(Message message) {
    return validate(message, ENVOY_TYPES);
  }

  /** The violations in {@code message}, unpacking Anys with {@code types}; empty when valid. */
  public static List<Violation> validate(Message message, TypeRegistry types) {
    requireNonNull(message, "message");
    requireNonNull(types, "types");
    MessageWalker walker = new MessageWalker(types);
    walker.message(message, "");
    return walker.violations();
  }
}
