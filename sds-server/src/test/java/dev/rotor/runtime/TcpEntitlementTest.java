package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.transport.TcpMtlsOptions;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.status.v3.ClientConfig;
import io.envoyproxy.envoy.service.status.v3.ClientStatusDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.status.v3.ClientStatusRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.spiffe.spiffeid.SpiffeId;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 3: what a caller on the TCP listener may receive. Rotor holds three SVIDs (its
 * own, {@code client}'s and {@code other}'s, as a node-level Rotor would); the TCP allow-list has
 * {@code client} only. Over TCP the caller gets key material of its own SVID only, the policy
 * workload of its own SPIFFE ID, and its own streams in CSDS; the Unix socket keeps serving the
 * pod as before.
 */
class TcpEntitlementTest {

  static final SpiffeId ROTOR = RunningRotor.WORKLOAD; // spiffe://example.org/ns/demo/sa/backend, the default SVID
  static final SpiffeId CLIENT = SpiffeId.parse("spiffe://example.org/client");
  static final SpiffeId OTHER = SpiffeId.parse("spiffe://example.org/other");

  @TempDir Path dir;
  private RunningRotor rotor;
  private int port;
  private TcpClient client;
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    Path policy = dir.resolve("policy.yaml");
    Files.writeString(policy, policy());
    port = freePort();
    DevCaOptions dev = new DevCaOptions(RunningRotor.TD, List.of(ROTOR, CLIENT, OTHER), Duration.ofHours(1),
        Duration.ofHours(24), Duration.ZERO, Duration.ofHours(1), List.of());
    rotor = RunningRotor.start(dir, Optional.of(policy), dev,
        Optional.of(new TcpMtlsOptions("127.0.0.1", port, Set.of(CLIENT))));
    await("the dev CA's first identity").atMost(Duration.ofSeconds(10))
        .until(() -> rotor.runtime.gate().status().current().isPresent());
    client = TcpClient.connect(rotor, port, CLIENT, ROTOR);
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
    if (client != null) {
      client.close();
    }
    rotor.close();
  }

  @Test
  void wildcardSdsOverTcp_carriesTheCallersOwnSvidAndTheBundles_notOtherSvids() throws Exception {
    XdsClient sds = track(XdsClient.sds(client.channel, "client-node"));
    sds.subscribe(TypeUrls.SECRET);

    DiscoveryResponse r = sds.await();

    assertThat(names(r)).containsExactlyInAnyOrder(CLIENT.toString(), "spiffe://example.org");
    assertThat(keyHolders(r)).containsExactly(CLIENT.toString());
  }

  @Test
  void sdsByNameOverTcp_forAnotherSvid_isNotServed_andDefaultIsNotTheCallersSoNeither() {
    var fetch = SecretDiscoveryServiceGrpc.newBlockingStub(client.channel).withDeadlineAfter(10, TimeUnit.SECONDS);

    for (String name : List.of(OTHER.toString(), ROTOR.toString(), "default")) {
      assertThatThrownBy(() -> fetch.fetchSecrets(DiscoveryRequest.newBuilder().addResourceNames(name).build()))
          .as("FetchSecrets %s over TCP as %s", name, CLIENT)
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    }
    DiscoveryResponse own = fetch.fetchSecrets(DiscoveryRequest.newBuilder().addResourceNames(CLIENT.toString())
        .addResourceNames("ROOTCA").build());
    assertThat(names(own)).containsExactlyInAnyOrder(CLIENT.toString(), "ROOTCA");
  }

  @Test
  void sdsStreamOverTcp_askingForAnotherSvidByName_getsNothing() {
    XdsClient sds = track(XdsClient.sds(client.channel, "client-node"));
    sds.subscribe(TypeUrls.SECRET, OTHER.toString(), "default", CLIENT.toString());

    DiscoveryResponse r = sds.await();

    assertThat(names(r)).containsExactly(CLIENT.toString());
  }

  @Test
  void adsOverTcp_claimingAnotherWorkloadsNodeId_isRefused_andCounted() {
    for (String node : List.of("backend", "frontend")) {
      XdsClient ads = track(XdsClient.ads(client.channel, node));
      ads.subscribe(TypeUrls.LISTENER);

      Status closed = ads.awaitClosed(XdsClient.TIMEOUT);

      assertThat(closed.getCode()).as("ADS over TCP as %s claiming node %s", CLIENT, node)
          .isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(closed.getDescription()).contains(node).contains(CLIENT.toString());
    }
    assertThat(OperationsTest.sample(PrometheusText.parse(rotor.get("/metrics").body()), "rotor_tcp_refusals",
        "rotor_tcp_refusals_total", Map.of("reason", "node_id"))).isEqualTo(2.0);
  }

  @Test
  void adsOverTcp_servesTheWorkloadOfTheCallersSpiffeId_whateverItsNodeIdIsCalled() {
    for (String node : List.of("", "client-7f9c")) {
      XdsClient ads = track(XdsClient.ads(client.channel, node));
      ads.subscribe(TypeUrls.CLUSTER);

      DiscoveryResponse clusters = ads.await(TypeUrls.CLUSTER);

      assertThat(names(clusters)).as("clusters for node id \"%s\"", node).containsExactly("outbound_backend");
    }
  }

  @Test
  void csdsOverTcp_listsOnlyTheCallersOwnStreams() {
    XdsClient local = track(XdsClient.sds(rotor.channel, "frontend"));
    local.subscribe(TypeUrls.SECRET, "default");
    local.await();
    XdsClient remote = track(XdsClient.sds(client.channel, "client-node"));
    remote.subscribe(TypeUrls.SECRET, CLIENT.toString());
    remote.await();

    List<String> overTcp = ClientStatusDiscoveryServiceGrpc.newBlockingStub(client.channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS).fetchClientStatus(ClientStatusRequest.getDefaultInstance())
        .getConfigList().stream().map(c -> c.getNode().getId()).toList();
    List<String> overUnix = ClientStatusDiscoveryServiceGrpc.newBlockingStub(rotor.channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS).fetchClientStatus(ClientStatusRequest.getDefaultInstance())
        .getConfigList().stream().map(ClientConfig::getNode).map(n -> n.getId()).toList();

    assertThat(overTcp).containsExactly("client-node");
    assertThat(overUnix).contains("client-node", "frontend");
  }

  @Test
  void unixSocket_keepsServingThePod_everySvidByWildcard_andWorkloadsByNodeId() {
    XdsClient sds = track(XdsClient.sds(rotor.channel, "pod"));
    sds.subscribe(TypeUrls.SECRET);
    assertThat(names(sds.await()))
        .contains(ROTOR.toString(), CLIENT.toString(), OTHER.toString(), "spiffe://example.org");

    XdsClient ads = track(XdsClient.ads(rotor.channel, "backend"));
    ads.subscribe(TypeUrls.LISTENER);
    assertThat(names(ads.await(TypeUrls.LISTENER))).containsExactly("inbound_8080");
  }

  private XdsClient track(XdsClient c) {
    cleanup.add(c);
    return c;
  }

  static List<String> names(DiscoveryResponse r) {
    return r.getResourcesList().stream().map(a -> {
      try {
        if (a.is(Secret.class)) {
          return a.unpack(Secret.class).getName();
        }
        return nameOf(a);
      } catch (Exception e) {
        throw new AssertionError("cannot read a resource of type " + a.getTypeUrl(), e);
      }
    }).toList();
  }

  private static String nameOf(com.google.protobuf.Any a) throws Exception {
    if (a.is(io.envoyproxy.envoy.config.cluster.v3.Cluster.class)) {
      return a.unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class).getName();
    }
    return a.unpack(io.envoyproxy.envoy.config.listener.v3.Listener.class).getName();
  }

  /** The names of the secrets in {@code r} that carry a private key. */
  static List<String> keyHolders(DiscoveryResponse r) throws Exception {
    List<String> out = new ArrayList<>();
    for (var a : r.getResourcesList()) {
      Secret s = a.unpack(Secret.class);
      if (s.hasTlsCertificate() && !s.getTlsCertificate().getPrivateKey().getInlineBytes().isEmpty()) {
        out.add(s.getName());
      }
    }
    return out;
  }

  static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** backend and frontend are recognized by node id; client by its SPIFFE ID only. */
  private static String policy() {
    return """
        version: 1
        trustDomain: example.org
        workloads:
          - name: backend
            match:
              nodeIds: [backend]
            inbound:
              port: 8080
              appPort: 9000
              protocol: http
              rules:
                - action: allow
                  from:
                    - spiffeId: spiffe://example.org/client
          - name: frontend
            match:
              nodeIds: [frontend]
            outbound:
              - name: backend
                port: 9001
                address: backend.local:8080
                spiffeIds: [spiffe://example.org/ns/demo/sa/backend]
          - name: client
            match:
              spiffeIds: [spiffe://example.org/client]
            outbound:
              - name: backend
                port: 9002
                address: backend.local:8080
                spiffeIds: [spiffe://example.org/ns/demo/sa/backend]
        """;
  }
}
