package dev.rotor.config;

import static dev.rotor.config.AdsWire.LDS;
import static dev.rotor.config.AdsWire.ack;
import static dev.rotor.config.AdsWire.listener;
import static dev.rotor.config.AdsWire.names;
import static dev.rotor.config.AdsWire.node;
import static dev.rotor.config.AdsWire.subscribe;
import static dev.rotor.config.TestPolicy.BACKEND;
import static dev.rotor.config.TestPolicy.BACKEND_ID;
import static dev.rotor.config.TestPolicy.CACHE;
import static dev.rotor.config.TestPolicy.DB;
import static dev.rotor.config.TestPolicy.INBOUND;
import static dev.rotor.config.TestPolicy.OPS_ID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.gate.GatePolicy;
import dev.rotor.runtime.ServeConfig;
import dev.rotor.runtime.ServeRuntime;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.transport.UdsServerOptions;
import dev.rotor.xds.secret.SecretNaming;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A policy change reaches every connected Envoy's listeners without a restart: the real {@code
 * rotor serve} runtime (development CA, watched policy file, Unix socket with peer-UID checks) and
 * three ADS clients on that socket, as three Envoy sidecars would connect.
 */
class PolicyReloadEndToEndTest {

  /** The watcher polls this often; a change must arrive within {@link #PUSH_WAIT}. */
  private static final Duration POLL = Duration.ofMillis(100);
  private static final Duration PUSH_WAIT = Duration.ofSeconds(10);
  /** How long to watch for a push that must not happen: ten polls. */
  private static final Duration NO_PUSH = POLL.multipliedBy(10);

  @TempDir Path policyDir;

  private Path policyFile;
  private Path socketDir;
  private ServeRuntime runtime;
  private EventLoopGroup loops;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<XdsTestPeer<?, ?>> peers = new ArrayList<>();

  @BeforeEach
  void startRotor() throws IOException {
    policyFile = policyDir.resolve("policy.yaml");
    Files.writeString(policyFile, TestPolicy.demo().yaml());
    // Unix socket paths are limited to 107 bytes: a short directory, not JUnit's temp dir.
    socketDir = Files.createTempDirectory(Path.of("/tmp"), "rotor-ads-");
    TrustDomain td = TrustDomain.parse(TestPolicy.TRUST_DOMAIN);
    ServeConfig config = new ServeConfig(
        Optional.of(DevCaOptions.of(td, List.of(SpiffeId.parse(BACKEND_ID)), Duration.ofHours(1), Duration.ofDays(1),
            Duration.ZERO, Duration.ofHours(1))),
        Optional.empty(),
        Duration.ZERO,
        GatePolicy.trustDomain(td),
        UdsServerOptions.of(socketDir.resolve("rotor.sock"), Set.of(ownUid())),
        Optional.empty(),
        SecretNaming.SPIRE_DEFAULTS,
        false,
        Optional.of(policyFile),
        POLL,
        dev.rotor.admin.AdminOptions.disabled());
    runtime = ServeRuntime.start(config);
    loops = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  }

  @AfterEach
  void stopRotor() throws Exception {
    peers.forEach(XdsTestPeer::close);
    for (ManagedChannel c : channels) {
      c.shutdownNow();
      c.awaitTermination(5, TimeUnit.SECONDS);
    }
    if (loops != null) {
      loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    if (runtime != null) {
      runtime.close();
    }
    if (socketDir != null) {
      try (Stream<Path> files = Files.walk(socketDir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  @Test
  void policyChangeReachesEveryConnectedEnvoysListenersWithoutARestart() throws IOException {
    var frontend = connect("frontend");
    var backend1 = connect("backend");
    var backend2 = connect("backend");
    assertThat(names(frontend.first())).containsExactly(BACKEND.envoyName());
    assertThat(names(backend1.first())).containsExactly(INBOUND, DB.envoyName());
    assertThat(names(backend2.first())).containsExactly(INBOUND, DB.envoyName());

    // The backend now also admits ops; the frontend gets a new upstream.
    writeAtomically(TestPolicy.demo().withBackendAlsoAllowing(OPS_ID).withFrontendOutbound(CACHE).yaml());

    DiscoveryResponse f = frontend.peer().awaitResponse(PUSH_WAIT);
    DiscoveryResponse b1 = backend1.peer().awaitResponse(PUSH_WAIT);
    DiscoveryResponse b2 = backend2.peer().awaitResponse(PUSH_WAIT);
    assertThat(names(f)).containsExactly(BACKEND.envoyName(), CACHE.envoyName());
    for (DiscoveryResponse b : List.of(b1, b2)) {
      assertThat(names(b)).containsExactly(INBOUND, DB.envoyName());
      assertThat(ResourceWalker.strings(listener(b, INBOUND))).contains(OPS_ID);
    }
    assertThat(b1.getVersionInfo()).isEqualTo(b2.getVersionInfo()).isNotEqualTo(backend1.first().getVersionInfo());
    assertThat(runtime.policyRejections()).isZero();
  }

  @Test
  void invalidPolicyPushesNothingAndTheLastGoodStaysInForce() throws IOException {
    List<Connected> envoys = List.of(connect("frontend"), connect("backend"), connect("backend"));
    TestPolicy good = TestPolicy.demo().withBackendAlsoAllowing(OPS_ID).withFrontendOutbound(CACHE);
    writeAtomically(good.yaml());
    List<DiscoveryResponse> lastGood = new ArrayList<>();
    for (Connected e : envoys) {
      DiscoveryResponse r = e.peer().awaitResponse(PUSH_WAIT);
      e.peer().send(ack(r));
      lastGood.add(r);
    }

    // A typo: a port out of range. The file is rejected as a whole.
    writeAtomically(good.withBackendOutbound(CACHE).yaml().replace("appPort: 9090", "appPort: 99999"));

    await().atMost(PUSH_WAIT).untilAsserted(() -> assertThat(runtime.policyRejections()).isEqualTo(1));
    for (Connected e : envoys) {
      e.peer().assertNoResponse(NO_PUSH);
    }
    // An Envoy that connects now gets the last good version, not the rejected one.
    Connected late = connect("backend");
    assertThat(late.first().getResourcesList()).isEqualTo(lastGood.get(1).getResourcesList());
    assertThat(late.first().getVersionInfo()).isEqualTo(lastGood.get(1).getVersionInfo());

    // The watcher keeps going: the next valid version is pushed.
    writeAtomically(good.withBackendOutbound(CACHE).yaml());
    assertThat(names(envoys.get(1).peer().awaitResponse(PUSH_WAIT))).containsExactly(INBOUND, CACHE.envoyName(),
        DB.envoyName());
  }

  /**
   * Issue 13, finding 9, as it happened in rotor serve: a policy nested 3,000 levels deep (6 KB)
   * threw StackOverflowError on the scheduler thread, the watcher task was cancelled without a log
   * line or a count, /readyz stayed ready and every later edit was ignored.
   */
  @Test
  void deeplyNestedPolicyIsRejectedAndCounted_andTheNextValidEditStillArrives() throws IOException {
    Connected backend = connect("backend");

    writeAtomically("version: 1\nworkloads: " + "[".repeat(3_000) + "]".repeat(3_000) + "\n");

    await().atMost(PUSH_WAIT).untilAsserted(() -> assertThat(runtime.policyRejections()).isEqualTo(1));
    backend.peer().assertNoResponse(NO_PUSH);
    assertThat(runtime.readiness().check().reasons()).as("readiness after a rejected version").isEmpty();

    writeAtomically(TestPolicy.demo().withBackendOutbound(CACHE).yaml());
    assertThat(names(backend.peer().awaitResponse(PUSH_WAIT))).containsExactly(INBOUND, CACHE.envoyName(),
        DB.envoyName());
    assertThat(runtime.policyRejections()).isEqualTo(1);
  }

  /** One Envoy: its own connection, an ADS stream subscribed to all listeners, and the first response. */
  private record Connected(XdsTestPeer<DiscoveryRequest, DiscoveryResponse> peer, DiscoveryResponse first) {}

  private Connected connect(String nodeId) {
    ManagedChannel channel = NettyChannelBuilder
        .forAddress(new DomainSocketAddress(runtime.sdsSocket().orElseThrow().toString()))
        .channelType(EpollDomainSocketChannel.class)
        .withOption(ChannelOption.SO_KEEPALIVE, null) // not a Unix-socket option; Netty warns per connection
        .eventLoopGroup(loops)
        .usePlaintext()
        .build();
    channels.add(channel);
    var peer = new XdsTestPeer<DiscoveryRequest, DiscoveryResponse>(nodeId + " ADS over UDS",
        AggregatedDiscoveryServiceGrpc.newStub(channel)::streamAggregatedResources);
    peers.add(peer);
    peer.send(subscribe(node(nodeId), LDS));
    DiscoveryResponse first = peer.awaitResponse(PUSH_WAIT);
    peer.send(ack(first));
    return new Connected(peer, first);
  }

  /** Replaces the policy file as an editor or a ConfigMap update does: a new file renamed over it. */
  private void writeAtomically(String yaml) throws IOException {
    Path tmp = Files.writeString(policyDir.resolve(".policy.yaml.tmp"), yaml);
    Files.move(tmp, policyFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static int ownUid() throws IOException {
    return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
  }
}
