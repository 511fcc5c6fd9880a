package dev.rotor.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 5: a UID refused by SO_PEERCRED could keep any number of connections open on
 * the socket (2 × 10,500 exhausted the descriptors, 8,000 ran Rotor out of memory), each call
 * answered PERMISSION_DENIED and logged. Refused connections are now closed at once, allowed UIDs
 * are capped in total and each, and the refusal line is rate-limited. Each test holds raw
 * connections that send nothing, as the attacker's did; every wait is bounded by {@link #WAIT}.
 */
class UdsConnectionLimitsTest {

  private static final int MY_UID = UnixSocketClient.currentUid();
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir Path dir;

  private final FakeSecretService service = new FakeSecretService();
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  @Test
  void refusedUid_everyConnectionIsClosedByTheServer_noneIsKept() throws Exception {
    UdsServer server = start(Set.of(MY_UID + 4242), UdsServerOptions.Limits.DEFAULTS);
    int before = openDescriptors();

    long t0 = System.nanoTime();
    List<SocketChannel> held = connect(server, 300);

    assertThat(closedByServer(held)).as("connections the server closed, of %d", held.size()).isEqualTo(held.size());
    System.out.printf("300 connections of a refused UID: all closed by the server %d ms after the first connect;"
        + " descriptors of this process %+d%n", (System.nanoTime() - t0) / 1_000_000, openDescriptors() - before);
    // The client ends are still open here; the server's are gone.
    assertThat(openDescriptors() - before).as("descriptors this process holds for %d refused connections",
        held.size()).isLessThan(held.size() + 50);
    assertThat(server.refusals()).containsEntry("uid_not_allowed", 300L);
    assertThat(server.openConnections()).isZero();
  }

  @Test
  void refusedUid_aGrpcCallFails_withoutReachingTheService() throws Exception {
    UdsServer server = start(Set.of(MY_UID + 4242), UdsServerOptions.Limits.DEFAULTS);

    // grpc-java sees the connection close before its own set-up finished: UNAVAILABLE.
    assertThatThrownBy(() -> fetch(server.socketPath()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(service.fetches).hasValue(0);
  }

  @Test
  void refusedUid_theServerSaysWhyInAGoAway_beforeClosing() throws Exception {
    UdsServer server = start(Set.of(MY_UID + 4242), UdsServerOptions.Limits.DEFAULTS);
    SocketChannel ch = connect(server, 1).get(0);

    byte[] all = readUntilClosed(ch, WAIT);

    String reason = "caller UID " + MY_UID + " is not allowed";
    ByteBuffer expected = ByteBuffer.allocate(9 + 9 + 8 + reason.length())
        .put(new byte[] {0, 0, 0, 0x4, 0, 0, 0, 0, 0}) // SETTINGS, empty
        .put(new byte[] {0, 0, (byte) (8 + reason.length()), 0x7, 0, 0, 0, 0, 0}) // GOAWAY, stream 0
        .putInt(0).putInt(0xc) // last stream 0, INADEQUATE_SECURITY
        .put(reason.getBytes(StandardCharsets.US_ASCII));
    assertThat(all).isEqualTo(expected.array());
  }

  @Test
  void refusals_areLoggedAtMostTenAtOnce_andTheRestCounted() throws Exception {
    UdsServer server = start(Set.of(MY_UID + 4242), UdsServerOptions.Limits.DEFAULTS);
    try (LogCapture logs = new LogCapture(UidConnectionGate.class)) {

      List<SocketChannel> held = connect(server, 200);
      assertThat(closedByServer(held)).isEqualTo(200);

      long lines = logs.messages().stream().filter(m -> m.startsWith("refused a Unix-socket connection")).count();
      assertThat(lines).as("refusal lines for 200 refused connections").isBetween(1L, 20L);
      assertThat(server.suppressedLogLines()).isEqualTo(200 - lines);
      assertThat(logs.messages().get(0)).isEqualTo("refused a Unix-socket connection from uid=" + MY_UID + " gid="
          + UnixSocketClient.currentGid() + " pid=" + ProcessHandle.current().pid() + ": caller UID " + MY_UID + " is not allowed"
          + " (allowed: [" + (MY_UID + 4242) + "], --allowed-uid)");
    }
  }

  @Test
  void twoHundredRefusedCalls_writeAtMostTwentyLines() throws Exception {
    UdsServer server = start(Set.of(MY_UID + 4242), UdsServerOptions.Limits.DEFAULTS);
    try (LogCapture gate = new LogCapture(UidConnectionGate.class);
        LogCapture interceptor = new LogCapture(UidAuthorizationInterceptor.class)) {
      for (int i = 0; i < 200; i++) {
        assertThatThrownBy(() -> fetch(server.socketPath())).isInstanceOf(StatusRuntimeException.class);
      }

      System.out.printf("200 refused calls: %d refusal lines written, %d suppressed%n",
          gate.messages().size() + interceptor.messages().size(), server.suppressedLogLines());
      assertThat(gate.messages().size() + interceptor.messages().size()).as("WARN lines for 200 refused calls")
          .isBetween(1, 20);
      assertThat(server.suppressedLogLines()).isPositive();
    }
  }

  @Test
  void allowedUid_pastItsConnectionLimit_isClosedAtOnce_andAdmittedAgainOnceOneCloses() throws Exception {
    UdsServer server = start(Set.of(MY_UID, MY_UID + 1), new UdsServerOptions.Limits(10, 3, 100));
    List<SocketChannel> three = connect(server, 3);
    await("three admitted").atMost(WAIT).until(() -> server.openConnections() == 3);

    List<SocketChannel> fourth = connect(server, 1);

    assertThat(closedByServer(fourth)).isEqualTo(1);
    assertThat(server.refusals()).containsEntry("uid_connection_limit", 1L);
    assertThat(closedByServer(three, Duration.ofMillis(300))).as("the three admitted stay open").isZero();
    three.get(0).close();
    await("a place freed").atMost(WAIT).until(() -> server.openConnections() == 2);
    assertThat(fetch(server.socketPath()).getResourcesCount()).isEqualTo(1);
  }

  @Test
  void pastTheTotalConnectionLimit_newConnectionsAreClosedAtOnce() throws Exception {
    UdsServer server = start(Set.of(MY_UID), new UdsServerOptions.Limits(4, 4, 100));
    connect(server, 4);
    await("four admitted").atMost(WAIT).until(() -> server.openConnections() == 4);

    assertThat(closedByServer(connect(server, 5))).isEqualTo(5);
    assertThat(server.refusals()).containsEntry("connection_limit", 5L);
    assertThatThrownBy(() -> fetch(server.socketPath()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  private UdsServer start(Set<Integer> allowed, UdsServerOptions.Limits limits) throws TransportStartException {
    UdsServer server = UdsServer.start(new UdsServerOptions(dir.resolve("sds.sock"), UdsServerOptions.DEFAULT_SOCKET_MODE,
        allowed, limits), List.of(service.bindService()));
    cleanup.add(server);
    return server;
  }

  /** Raw connections that send nothing, as the attacker's did. */
  private List<SocketChannel> connect(UdsServer server, int n) throws IOException {
    List<SocketChannel> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      cleanup.add(ch);
      ch.connect(UnixDomainSocketAddress.of(server.socketPath()));
      ch.configureBlocking(false);
      out.add(ch);
    }
    return out;
  }

  /** Everything the server writes until it closes the connection; fails if it does not within {@code wait}. */
  private static byte[] readUntilClosed(SocketChannel ch, Duration wait) throws IOException {
    java.io.ByteArrayOutputStream all = new ByteArrayOutputStream();
    ByteBuffer buf = ByteBuffer.allocate(4096);
    long deadline = System.nanoTime() + wait.toNanos();
    try (Selector selector = Selector.open()) {
      ch.register(selector, SelectionKey.OP_READ);
      while (System.nanoTime() < deadline) {
        selector.select(100);
        selector.selectedKeys().clear();
        buf.clear();
        int n = ch.read(buf);
        if (n < 0) {
          return all.toByteArray();
        }
        all.write(buf.array(), 0, n);
      }
    }
    throw new AssertionError("the server did not close the connection within " + wait + " (read " + all.size()
        + " bytes)");
  }

  private static int closedByServer(List<SocketChannel> channels) throws IOException {
    return closedByServer(channels, WAIT);
  }

  /** How many of {@code channels} reach end of stream (the server closed them) within {@code wait}. */
  private static int closedByServer(List<SocketChannel> channels, Duration wait) throws IOException {
    List<SocketChannel> pending = new ArrayList<>(channels);
    ByteBuffer buf = ByteBuffer.allocate(4096);
    long deadline = System.nanoTime() + wait.toNanos();
    try (Selector selector = Selector.open()) {
      for (SocketChannel ch : pending) {
        ch.register(selector, SelectionKey.OP_READ, ch);
      }
      int closed = 0;
      while (closed < channels.size() && System.nanoTime() < deadline) {
        selector.select(100);
        for (SelectionKey k : selector.selectedKeys()) {
          SocketChannel ch = (SocketChannel) k.attachment();
          buf.clear();
          int n;
          try {
            n = ch.read(buf);
          } catch (IOException reset) {
            n = -1;
          }
          if (n < 0) {
            k.cancel();
            closed++;
          }
        }
        selector.selectedKeys().clear();
      }
      return closed;
    }
  }

  private DiscoveryResponse fetch(Path socket) {
    return UnixSocketClient.fetch(socket, cleanup);
  }

  private static int openDescriptors() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return (int) fds.count();
    }
  }
}
