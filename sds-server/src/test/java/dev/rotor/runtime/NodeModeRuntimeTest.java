package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.rotor.admin.AdminOptions;
import dev.rotor.gate.GatePolicy;
import dev.rotor.node.FakeDelegatedIdentity;
import dev.rotor.node.NodeOptions;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.source.workload.WorkloadApiAddress;
import dev.rotor.transport.AllowedUids;
import dev.rotor.transport.UdsServerOptions;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.secret.SecretNaming;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code rotor serve --node} in this JVM, on a real Unix socket, against a fake SPIRE agent
 * Delegated Identity API on another (the real one is in tests/, NodeModeIT): this test process is
 * the caller, attested by its PID; what it may receive depends only on what the fake agent issues
 * to that PID.
 */
class NodeModeRuntimeTest {

  private static final String FRONTEND = "spiffe://example.org/ns/demo/sa/frontend";
  private static final String BACKEND = "spiffe://example.org/ns/demo/sa/backend";

  private Path dir;
  private final FakeDelegatedIdentity agent = new FakeDelegatedIdentity();
  private final EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private Server agentServer;
  private ServeRuntime rotor;

  @BeforeEach
  void start() throws Exception {
    dir = Files.createTempDirectory(Path.of("/tmp"), "rotor-node-");
    Path admin = dir.resolve("admin.sock");
    agentServer = NettyServerBuilder.forAddress(new DomainSocketAddress(admin.toString()))
        .channelType(EpollServerDomainSocketChannel.class).bossEventLoopGroup(loops).workerEventLoopGroup(loops)
        .addService(agent).build().start();
    Path policy = Files.writeString(dir.resolve("policy.yaml"), """
        version: 1
        trustDomain: example.org
        workloads:
          - name: backend
            match: { nodeIds: [backend], spiffeIds: [%s] }
            inbound: { port: 8080, appPort: 9090, protocol: http,
                       rules: [ { action: allow, from: [ { spiffeId: %s } ] } ] }
          - name: frontend
            match: { nodeIds: [frontend], spiffeIds: [%s] }
            outbound: [ { name: backend, port: 9001, address: "127.0.0.1:8080", spiffeIds: [%s] } ]
        """.formatted(BACKEND, FRONTEND, FRONTEND, BACKEND));
    rotor = ServeRuntime.start(new ServeConfig(Optional.<DevCaOptions>empty(), Optional.<WorkloadApiAddress>empty(),
        Duration.ofSeconds(5), GatePolicy.unrestricted(),
        new UdsServerOptions(dir.resolve("sds.sock"), UdsServerOptions.DEFAULT_SOCKET_MODE, AllowedUids.any(),
            UdsServerOptions.Limits.DEFAULTS),
        Optional.empty(), SecretNaming.SPIRE_DEFAULTS, false, Optional.of(policy), Duration.ofMillis(200),
        new AdminOptions(Optional.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)), Duration.ofSeconds(30)),
        Optional.empty(), dev.rotor.protocol.StreamLimits.DEFAULTS,
        Optional.of(new NodeOptions(admin, Duration.ofSeconds(5), Duration.ofSeconds(5)))));
    await("ready: the agent's bundles").atMost(Duration.ofSeconds(10)).until(() -> rotor.readiness().check().ready());
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
    if (rotor != null) {
      rotor.close();
    }
    agentServer.shutdownNow();
    loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  @Test
  void attestedCaller_getsTheSvidSpireIssuesToItsPid_asDefault() throws Exception {
    agent.issue(pid(), FRONTEND);

    DiscoveryResponse r = fetch(channel(), "default", "ROOTCA");

    assertThat(uriSans(secret(r, "default"))).containsExactly(FRONTEND);
    assertThat(TcpEntitlementTest.keyHolders(r)).containsExactly("default");
  }

  @Test
  void callerSpireIssuesNothingTo_isDeniedPermission_andGetsNoKeyBytes() throws Exception {
    assertThatThrownBy(() -> fetch(channel(), "default"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
          assertThat(e.getStatus().getDescription()).contains("caller not attested").contains("no registration entry");
        });
    assertThat(metric("rotor_uds_connection_refusals", "rotor_uds_connection_refusals_total",
        Map.of("reason", "not_attested"))).isGreaterThanOrEqualTo(1.0);
  }

  @Test
  void listenersAndClusters_comeFromThePolicyWorkloadOfTheAttestedId_whateverTheNodeIdIsCalled() {
    agent.issue(pid(), FRONTEND);
    ManagedChannel channel = channel();
    for (String node : List.of("", "frontend-7f9c")) {
      XdsClient ads = track(XdsClient.ads(channel, node));
      ads.subscribe(TypeUrls.LISTENER);
      assertThat(TcpEntitlementTest.names(ads.await(TypeUrls.LISTENER))).as("node id \"%s\"", node)
          .containsExactly("outbound_backend");
    }
  }

  @Test
  void nodeIdNamingAnotherWorkload_isRefused_withAClearStatus_andCounted() throws Exception {
    agent.issue(pid(), FRONTEND);
    XdsClient ads = track(XdsClient.ads(channel(), "backend"));
    ads.subscribe(TypeUrls.LISTENER);

    Status closed = ads.awaitClosed(XdsClient.TIMEOUT);

    assertThat(closed.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(closed.getDescription()).contains("node.id \"backend\"").contains(FRONTEND).contains("SPIRE attested");
    assertThat(metric("rotor_node_refusals", "rotor_node_refusals_total", Map.of("reason", "node_id"))).isEqualTo(1.0);
  }

  @Test
  void metricsAndStatus_showTheAttestedWorkload() throws Exception {
    agent.issue(pid(), FRONTEND);
    XdsClient sds = track(XdsClient.sds(channel(), "frontend"));
    sds.subscribe(TypeUrls.SECRET, "default");
    sds.await();

    assertThat(metric("rotor_node_workloads", "rotor_node_workloads", Map.of())).isEqualTo(1.0);
    assertThat(metric("rotor_node_workload_streams", "rotor_node_workload_streams", Map.of("workload", FRONTEND)))
        .isEqualTo(1.0);
    String status = rotor.streamRegistry().streams().get(0).peer();
    assertThat(status).startsWith(FRONTEND + " (uid=");
  }

  @Test
  void csds_showsAnAttestedCallerItsOwnWorkloadsStreamsOnly() {
    agent.issue(pid(), FRONTEND);
    ManagedChannel frontend = channel();
    XdsClient f = track(XdsClient.ads(frontend, "frontend"));
    f.subscribe(TypeUrls.LISTENER);
    f.await(TypeUrls.LISTENER);
    agent.attestNextAs(pid(), BACKEND); // the next connection of this process is the backend
    XdsClient b = track(XdsClient.ads(channel(), "backend"));
    b.subscribe(TypeUrls.LISTENER);
    b.await(TypeUrls.LISTENER);
    assertThat(rotor.streamRegistry().streams()).hasSize(2);

    var seen = io.envoyproxy.envoy.service.status.v3.ClientStatusDiscoveryServiceGrpc.newBlockingStub(frontend)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .fetchClientStatus(io.envoyproxy.envoy.service.status.v3.ClientStatusRequest.getDefaultInstance());

    assertThat(seen.getConfigList()).extracting(c -> c.getNode().getId()).containsExactly("frontend");
  }

  private double metric(String family, String sample, Map<String, String> labels) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    rotor.metrics().writeText(out);
    return OperationsTest.sample(PrometheusText.parse(out.toString(StandardCharsets.UTF_8)), family, sample, labels);
  }

  private ManagedChannel channel() {
    ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(rotor.sdsSocket().orElseThrow().toString()))
        .channelType(EpollDomainSocketChannel.class)
        .withOption(ChannelOption.SO_KEEPALIVE, null)
        .eventLoopGroup(loops)
        .usePlaintext()
        .build();
    cleanup.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return channel;
  }

  private XdsClient track(XdsClient c) {
    cleanup.add(c);
    return c;
  }

  private static DiscoveryResponse fetch(ManagedChannel channel, String... names) {
    return SecretDiscoveryServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .fetchSecrets(DiscoveryRequest.newBuilder().addAllResourceNames(List.of(names)).build());
  }

  private static Secret secret(DiscoveryResponse r, String name) throws Exception {
    for (var a : r.getResourcesList()) {
      Secret s = a.unpack(Secret.class);
      if (s.getName().equals(name)) {
        return s;
      }
    }
    throw new AssertionError("no secret " + name + " in the response");
  }

  private static List<String> uriSans(Secret s) throws Exception {
    byte[] pem = s.getTlsCertificate().getCertificateChain().getInlineBytes().toByteArray();
    X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pem));
    List<String> out = new ArrayList<>();
    for (List<?> san : leaf.getSubjectAlternativeNames()) {
      if ((Integer) san.get(0) == 6) {
        out.add((String) san.get(1));
      }
    }
    return out;
  }

  private static int pid() {
    return (int) ProcessHandle.current().pid();
  }
}
