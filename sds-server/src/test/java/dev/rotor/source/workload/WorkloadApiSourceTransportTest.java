package dev.rotor.source.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The production factory, {@link WorkloadApiSource#connect}, against the fake agent served by
 * Netty on a real Unix domain socket (and on loopback TCP). Real time here: reconnect delays are a
 * few hundred milliseconds, every wait is bounded.
 */
class WorkloadApiSourceTransportTest {

  private static final TestPki PKI = TestPki.forTrustDomain("example.org");
  private static final String ID = "spiffe://example.org/ns/demo/sa/frontend";

  @TempDir Path dir;

  private final FakeWorkloadApi agent = new FakeWorkloadApi();
  private final RecordingListener listener = new RecordingListener();
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final EventLoopGroup serverLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private Server server;
  private WorkloadApiSource source;

  @AfterEach
  void stop() throws InterruptedException {
    if (source != null) {
      source.close();
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    serverLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    scheduler.shutdownNow();
  }

  private static ConditionFactory waiting(String what) {
    return await(what).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20));
  }

  private Server serveOnUnixSocket(Path socket) throws IOException {
    return NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .bossEventLoopGroup(serverLoop)
        .workerEventLoopGroup(serverLoop)
        .channelType(EpollServerDomainSocketChannel.class)
        .withChildOption(ChannelOption.SO_KEEPALIVE, null) // no TCP keepalive on a Unix socket
        .addService(agent.service())
        .build()
        .start();
  }

  private static X509SVIDResponse response() {
    return X509SVIDResponse.newBuilder().addSvids(PKI.svid(ID, "")).build();
  }

  @Test
  void connect_overUnixSocket_receivesASnapshot() throws IOException {
    Path socket = dir.resolve("agent.sock");
    server = serveOnUnixSocket(socket);
    agent.push(response());

    source = WorkloadApiSource.connect(WorkloadApiAddress.parse("unix://" + socket), scheduler, new Random(1));
    source.start(listener);

    waiting("a snapshot over the Unix socket").until(() -> listener.snapshots.size() == 1);
    assertThat(listener.lastSnapshot().svids()).extracting(s -> s.spiffeId().toString()).containsExactly(ID);
    assertThat(source.describe()).isEqualTo("workload-api unix://" + socket);
    assertThat(agent.rejectedWithoutHeader()).isZero();
  }

  @Test
  void connect_agentRestarts_sourceReconnectsOnItsOwn() throws Exception {
    Path socket = dir.resolve("agent.sock");
    server = serveOnUnixSocket(socket);
    agent.push(response());
    source = WorkloadApiSource.connect(WorkloadApiAddress.parse(socket.toString()), scheduler, new Random(1));
    source.start(listener);
    waiting("the first snapshot").until(() -> listener.snapshots.size() == 1);

    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    Files.deleteIfExists(socket);
    waiting("the agent's absence reported").until(() -> !listener.errors.isEmpty());

    agent.push(response());
    server = serveOnUnixSocket(socket);

    waiting("a snapshot from the restarted agent").until(() -> listener.snapshots.size() == 2);
  }

  @Test
  void connect_agentSocketMissingAtStart_reportsAndKeepsTrying() throws IOException {
    Path socket = dir.resolve("later.sock");
    source = WorkloadApiSource.connect(WorkloadApiAddress.parse(socket.toString()), scheduler, new Random(1));
    source.start(listener);
    waiting("the missing socket reported").until(() -> !listener.errors.isEmpty());
    assertThat(listener.errors.get(0).reason()).contains("UNAVAILABLE");

    agent.push(response());
    server = serveOnUnixSocket(socket);

    waiting("a snapshot once the agent is up").until(() -> listener.snapshots.size() == 1);
  }

  @Test
  void connect_overLoopbackTcp_receivesASnapshot() throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
        .addService(agent.service())
        .build()
        .start();
    agent.push(response());

    source = WorkloadApiSource.connect(
        WorkloadApiAddress.parse("tcp://127.0.0.1:" + server.getPort()), scheduler, new Random(1));
    source.start(listener);

    waiting("a snapshot over TCP").until(() -> listener.snapshots.size() == 1);
  }
}
