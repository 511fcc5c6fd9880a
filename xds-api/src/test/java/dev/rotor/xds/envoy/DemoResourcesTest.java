package dev.rotor.xds.envoy;

import static dev.rotor.xds.envoy.DemoPolicies.BACKEND;
import static dev.rotor.xds.envoy.DemoPolicies.FRONTEND;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.rotor.policy.Policy;
import dev.rotor.xds.Resource;
import dev.rotor.xds.ResourceVersions;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.rbac.principals.mtls_authenticated.v3.Config;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo: backend accepts only the frontend; the frontend reaches the backend through 127.0.0.1:9001. */
class DemoResourcesTest {

  private static final WorkloadResourcesBuilder.Options OPTIONS = WorkloadResourcesBuilder.Options.defaults();
  private static final SdsSecretConfigs SDS = OPTIONS.sds();

  private static WorkloadResources build(Policy p, String workload) {
    return WorkloadResourcesBuilder.build(p, p.workload(workload).orElseThrow(), OPTIONS);
  }

  private static <T extends Message> T unpack(Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void backend_hasOneInboundListenerAndTheLocalAppCluster() {
    WorkloadResources r = build(DemoPolicies.demo(), "backend");
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("inbound_8080");
    assertThat(r.clusters()).extracting(Cluster::getName).containsExactly("local_app");
  }

  @Test
  void backend_inboundListener_isMutualTlsOnAllInterfaces() {
    Listener l = build(DemoPolicies.demo(), "backend").listener("inbound_8080").orElseThrow();
    assertThat(l.getAddress().getSocketAddress())
        .isEqualTo(SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(8080).build());
    assertThat(l.getFilterChainsList()).hasSize(1);
    FilterChain chain = l.getFilterChains(0);
    assertThat(chain.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
    DownstreamTlsContext tls = unpack(chain.getTransportSocket().getTypedConfig(), DownstreamTlsContext.class);
    assertThat(tls.getRequireClientCertificate().getValue()).isTrue();
    assertThat(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigsList()).containsExactly(SDS.certificate());
    assertThat(tls.getCommonTlsContext().getValidationContextSdsSecretConfig()).isEqualTo(SDS.validation(false));
    assertThat(tls.getCommonTlsContext().getValidationContextSdsSecretConfig().getName()).isEqualTo("ROOTCA");
    assertThat(tls.getCommonTlsContext().getAlpnProtocolsList()).containsExactly("h2", "http/1.1");
  }

  /**
   * No connection outlives maxConnectionDuration: the HTTP connection manager closes it
   * gracefully (Connection: close or GOAWAY) once it is that old.
   */
  @Test
  void backend_httpListener_boundsConnectionAge_gracefully() {
    Listener l = build(DemoPolicies.demo(), "backend").listener("inbound_8080").orElseThrow();
    HttpConnectionManager hcm = unpack(l.getFilterChains(0).getFilters(0).getTypedConfig(), HttpConnectionManager.class);

    assertThat(hcm.getCommonHttpProtocolOptions().getMaxConnectionDuration())
        .isEqualTo(com.google.protobuf.Duration.newBuilder().setSeconds(30).build());
  }

  /** A TCP listener can only close: tcp_proxy's max_downstream_connection_duration, the policy's default 15m. */
  @Test
  void tcpListener_boundsConnectionAge_withThePolicyDefault() {
    Listener l = build(DemoPolicies.everything(), "db").listener("inbound_5432").orElseThrow();
    FilterChain chain = l.getFilterChains(0);
    TcpProxy proxy = unpack(chain.getFilters(chain.getFiltersCount() - 1).getTypedConfig(), TcpProxy.class);

    assertThat(proxy.getMaxDownstreamConnectionDuration())
        .isEqualTo(com.google.protobuf.Duration.newBuilder().setSeconds(15 * 60).build());
  }

  /**
   * Every connection is a full handshake: the client chain is verified against the bundle of the
   * moment and Envoy marks the peer certificate validated, which the RBAC principals need
   * (resumed sessions evaluate mtls_authenticated as false, envoy#42668; docs/policy.md).
   */
  @Test
  void backend_inboundListener_neverResumesATlsSession() {
    Listener l = build(DemoPolicies.demo(), "backend").listener("inbound_8080").orElseThrow();
    DownstreamTlsContext tls = unpack(l.getFilterChains(0).getTransportSocket().getTypedConfig(), DownstreamTlsContext.class);

    assertThat(tls.getDisableStatelessSessionResumption()).as("session tickets").isTrue();
    assertThat(tls.getDisableStatefulSessionResumption()).as("session cache").isTrue();
  }

  /** The client side keeps no sessions either, so every upstream handshake verifies the server again. */
  @Test
  void frontend_outboundCluster_neverResumesATlsSession() {
    Cluster c = build(DemoPolicies.demo(), "frontend").cluster("outbound_backend").orElseThrow();
    UpstreamTlsContext tls = unpack(c.getTransportSocket().getTypedConfig(), UpstreamTlsContext.class);

    assertThat(tls.hasMaxSessionKeys()).isTrue();
    assertThat(tls.getMaxSessionKeys().getValue()).isZero();
  }

  @Test
  void backend_httpConnectionManager_allowsOnlyTheFrontend_thenRoutesToLocalApp() {
    Listener l = build(DemoPolicies.demo(), "backend").listener("inbound_8080").orElseThrow();
    FilterChain chain = l.getFilterChains(0);
    assertThat(chain.getFiltersList()).hasSize(1);
    assertThat(chain.getFilters(0).getName()).isEqualTo("envoy.filters.network.http_connection_manager");
    HttpConnectionManager hcm = unpack(chain.getFilters(0).getTypedConfig(), HttpConnectionManager.class);

    assertThat(hcm.getStatPrefix()).isEqualTo("inbound_8080");
    assertThat(hcm.getForwardClientCertDetails()).isEqualTo(HttpConnectionManager.ForwardClientCertDetails.SANITIZE_SET);
    assertThat(hcm.getSetCurrentClientCertDetails().getUri()).isTrue();
    assertThat(hcm.getNormalizePath().getValue()).isTrue();
    assertThat(hcm.getMergeSlashes()).isTrue();

    assertThat(hcm.getHttpFiltersList()).extracting(HttpFilter::getName)
        .containsExactly("envoy.filters.http.rbac.allow", "envoy.filters.http.router");
    RBAC allow = unpack(hcm.getHttpFilters(0).getTypedConfig(), io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class)
        .getRules();
    assertThat(allow.getAction()).isEqualTo(RBAC.Action.ALLOW);
    assertThat(allow.getPoliciesMap()).containsOnlyKeys("rules[0]");
    var policy = allow.getPoliciesOrThrow("rules[0]");
    assertThat(policy.getPermissionsList()).containsExactly(Permission.newBuilder().setAny(true).build());
    assertThat(policy.getPrincipalsList()).hasSize(1);
    Principal p = policy.getPrincipals(0);
    assertThat(p.getCustom().getName()).isEqualTo("envoy.rbac.principals.mtls_authenticated");
    assertThat(unpack(p.getCustom().getTypedConfig(), Config.class)).isEqualTo(Config.newBuilder()
        .setSanMatcher(SubjectAltNameMatcher.newBuilder()
            .setSanType(SubjectAltNameMatcher.SanType.URI)
            .setMatcher(StringMatcher.newBuilder().setExact(FRONTEND.toString())))
        .build());

    var vhosts = hcm.getRouteConfig().getVirtualHostsList();
    assertThat(vhosts).hasSize(1);
    assertThat(vhosts.get(0).getDomainsList()).containsExactly("*");
    Route route = vhosts.get(0).getRoutes(0);
    assertThat(vhosts.get(0).getRoutesList()).hasSize(1);
    assertThat(route.getMatch().getPrefix()).isEqualTo("/");
    assertThat(route.getRoute().getCluster()).isEqualTo("local_app");
  }

  @Test
  void backend_localApp_isStaticLoopbackOnTheAppPort() {
    Cluster c = build(DemoPolicies.demo(), "backend").cluster("local_app").orElseThrow();
    assertThat(c.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
    assertThat(c.getConnectTimeout()).isEqualTo(Duration.newBuilder().setSeconds(5).build());
    assertThat(c.getLoadAssignment().getClusterName()).isEqualTo("local_app");
    assertThat(c.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress())
        .isEqualTo(SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(9090).build());
    assertThat(c.hasTransportSocket()).isFalse();
  }

  @Test
  void frontend_hasOneOutboundListenerAndCluster() {
    WorkloadResources r = build(DemoPolicies.demo(), "frontend");
    assertThat(r.listeners()).extracting(Listener::getName).containsExactly("outbound_backend");
    assertThat(r.clusters()).extracting(Cluster::getName).containsExactly("outbound_backend");
  }

  @Test
  void frontend_outboundListener_isPlainTextOnLoopback_proxiedToTheCluster() {
    Listener l = build(DemoPolicies.demo(), "frontend").listener("outbound_backend").orElseThrow();
    assertThat(l.getAddress().getSocketAddress())
        .isEqualTo(SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(9001).build());
    FilterChain chain = l.getFilterChains(0);
    assertThat(chain.hasTransportSocket()).isFalse();
    assertThat(chain.getFiltersList()).hasSize(1);
    assertThat(chain.getFilters(0).getName()).isEqualTo("envoy.filters.network.tcp_proxy");
    assertThat(unpack(chain.getFilters(0).getTypedConfig(), TcpProxy.class))
        .isEqualTo(TcpProxy.newBuilder()
            .setStatPrefix("outbound_backend")
            .setCluster("outbound_backend")
            .setMaxDownstreamConnectionDuration(com.google.protobuf.Duration.newBuilder().setSeconds(30 + 15))
            .build());
  }

  @Test
  void frontend_outboundCluster_isMutualTlsToTheBackend_requiringItsSpiffeId() {
    Cluster c = build(DemoPolicies.demo(), "frontend").cluster("outbound_backend").orElseThrow();
    assertThat(c.getType()).isEqualTo(Cluster.DiscoveryType.STRICT_DNS);
    assertThat(c.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getSocketAddress())
        .isEqualTo(SocketAddress.newBuilder().setAddress("backend.demo.svc.cluster.local").setPortValue(8080).build());
    UpstreamTlsContext tls = unpack(c.getTransportSocket().getTypedConfig(), UpstreamTlsContext.class);
    assertThat(tls.getSni()).isEqualTo("backend.demo.svc.cluster.local");
    assertThat(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigsList()).containsExactly(SDS.certificate());
    var combined = tls.getCommonTlsContext().getCombinedValidationContext();
    assertThat(combined.getValidationContextSdsSecretConfig()).isEqualTo(SDS.validation(false));
    assertThat(combined.getDefaultValidationContext().getMatchTypedSubjectAltNamesList()).containsExactly(
        SubjectAltNameMatcher.newBuilder()
            .setSanType(SubjectAltNameMatcher.SanType.URI)
            .setMatcher(StringMatcher.newBuilder().setExact(BACKEND.toString()))
            .build());
  }

  @Test
  void resources_arePackedOnce_versionedByTheirBytes() {
    WorkloadResources r = build(DemoPolicies.demo(), "backend");
    Resource listener = r.listenerResources().get(0);
    assertThat(listener.name()).isEqualTo("inbound_8080");
    assertThat(listener.body().getTypeUrl()).isEqualTo(TypeUrls.LISTENER);
    assertThat(listener.version()).isEqualTo(ResourceVersions.of(Any.pack(r.listeners().get(0))));
    assertThat(listener.body()).isSameAs(r.listenerResources().get(0).body());
    Resource cluster = r.clusterResources().get(0);
    assertThat(cluster.name()).isEqualTo("local_app");
    assertThat(cluster.body().getTypeUrl()).isEqualTo(TypeUrls.CLUSTER);
    assertThat(cluster.certificate()).isEmpty();
  }

  @Test
  void sameInput_givesIdenticalBytes() {
    for (String w : List.of("backend", "frontend")) {
      WorkloadResources a = build(DemoPolicies.demo(), w);
      WorkloadResources b = build(DemoPolicies.demo(), w);
      assertThat(bytes(a)).isEqualTo(bytes(b));
    }
  }

  @Test
  void reorderingWorkloads_doesNotChangeAnyWorkloadsBytes() {
    for (String w : List.of("backend", "frontend")) {
      assertThat(bytes(build(DemoPolicies.demoReordered(), w))).isEqualTo(bytes(build(DemoPolicies.demo(), w)));
    }
  }

  static List<com.google.protobuf.ByteString> bytes(WorkloadResources r) {
    return java.util.stream.Stream.concat(r.listenerResources().stream(), r.clusterResources().stream())
        .map(res -> res.body().toByteString())
        .toList();
  }
}
