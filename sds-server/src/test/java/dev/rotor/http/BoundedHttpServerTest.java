package dev.rotor.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.http.BoundedHttpServer.Refusal;
import dev.rotor.http.BoundedHttpServer.Response;
import dev.rotor.testing.RawHttp;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The server's bounds, each against real sockets with short limits: what a slow or hostile client
 * costs, and that probes are answered meanwhile. Waits are bounded by {@link #WAIT}.
 */
class BoundedHttpServerTest {

  private static final Duration WAIT = Duration.ofSeconds(5);
  private static final Duration SHORT = Duration.ofMillis(300);
  private static final byte[] OK = "{\"ok\":true}".getBytes(StandardCharsets.UTF_8);

  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  @Test
  void get_answersWithTheHandlersResponse_andClosesTheConnection() {
    BoundedHttpServer s = start(new HttpLimits(WAIT, WAIT, 4, 1), r -> new Response(200, "application/json", OK,
        Map.of("X-Path", r.path())));

    RawHttp.Response r = RawHttp.get(s.address(), "/healthz?verbose=1", WAIT);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("{\"ok\":true}");
    assertThat(r.head()).contains("Content-Length: 11", "Connection: close", "Cache-Control: no-store",
        "X-Path: /healthz");
  }

  @Test
  void head_getsTheHeadersWithoutTheBody() {
    BoundedHttpServer s = start(new HttpLimits(WAIT, WAIT, 4, 1), r -> new Response(200, "application/json", OK));

    RawHttp.Response r = RawHttp.exchange(s.address(), "HEAD /healthz HTTP/1.1\r\n\r\n", WAIT);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.head()).contains("Content-Length: 11");
    assertThat(r.body()).isEmpty();
  }

  @Test
  void stalledConnections_holdNoThread_probesAreAnsweredMeanwhile() {
    // One handler thread, as write-certs' health listener has: the JDK server gave it to the first
    // connection that sent a byte, for as long as that connection stayed open.
    BoundedHttpServer s = start(new HttpLimits(Duration.ofMinutes(1), WAIT, 64, 1),
        r -> new Response(200, "application/json", OK));
    List<Socket> stalled = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      stalled.add(track(RawHttp.stall(s.address(), "GET /healthz HTTP/1.1\r\nHost")));
    }

    for (int i = 0; i < 5; i++) {
      assertThat(RawHttp.get(s.address(), "/healthz", Duration.ofSeconds(2)).status()).isEqualTo(200);
    }
    assertThat(s.openConnections()).isEqualTo(10);
  }

  @Test
  void aConnectionThatDoesNotSendItsRequest_isClosedAfterTheRequestTimeout_andCounted() {
    BoundedHttpServer s = start(new HttpLimits(SHORT, WAIT, 4, 1), r -> new Response(200, "application/json", OK));
    Socket slow = track(RawHttp.stall(s.address(), "GET /hea"));

    assertThat(RawHttp.closedByServer(slow, WAIT)).as("closed by the server within %s", WAIT).isTrue();
    await().atMost(WAIT).until(() -> s.refusals().get(Refusal.REQUEST_TIMEOUT) == 1);
    assertThat(s.openConnections()).isZero();
  }

  @Test
  void aClientThatDoesNotRead_isCutAfterTheResponseTimeout_andCounted() {
    byte[] big = new byte[32 << 20]; // more than any socket buffer holds
    BoundedHttpServer s = start(new HttpLimits(WAIT, SHORT, 4, 1), r -> new Response(200, "text/plain", big));
    track(RawHttp.stall(s.address(), "GET /metrics HTTP/1.1\r\n\r\n")); // and never reads

    await().atMost(WAIT).until(() -> s.refusals().get(Refusal.RESPONSE_TIMEOUT) == 1);
    assertThat(s.openConnections()).isZero();
  }

  @Test
  void aSlowHandler_isCutAfterTheResponseTimeout_andItsLateResponseIsDropped() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    BoundedHttpServer s = start(new HttpLimits(WAIT, SHORT, 4, 2), r -> {
      if (r.path().equals("/slow")) {
        release.await(WAIT.toSeconds(), TimeUnit.SECONDS);
      }
      return new Response(200, "application/json", OK);
    });
    Socket slow = track(RawHttp.stall(s.address(), "GET /slow HTTP/1.1\r\n\r\n"));

    assertThat(RawHttp.closedByServer(slow, WAIT)).isTrue();
    assertThat(s.refusals().get(Refusal.RESPONSE_TIMEOUT)).isEqualTo(1);
    release.countDown();
    assertThat(RawHttp.get(s.address(), "/healthz", WAIT).status()).isEqualTo(200);
  }

  @Test
  void atTheConnectionLimit_theOldestStalledConnectionMakesRoom() {
    BoundedHttpServer s = start(new HttpLimits(Duration.ofMinutes(1), WAIT, 3, 1),
        r -> new Response(200, "application/json", OK));
    Socket oldest = track(RawHttp.stall(s.address(), "G"));
    track(RawHttp.stall(s.address(), "G"));
    track(RawHttp.stall(s.address(), "G"));
    await().atMost(WAIT).until(() -> s.openConnections() == 3);

    assertThat(RawHttp.get(s.address(), "/healthz", WAIT).status()).isEqualTo(200);

    assertThat(RawHttp.closedByServer(oldest, WAIT)).as("the oldest stalled connection").isTrue();
    assertThat(s.refusals().get(Refusal.CONNECTION_LIMIT)).isEqualTo(1);
  }

  @Test
  void anOversizedRequestHead_isAnswered431() {
    BoundedHttpServer s = start(new HttpLimits(WAIT, WAIT, 4, 1), r -> new Response(200, "application/json", OK));

    RawHttp.Response r = RawHttp.exchange(s.address(), "GET / HTTP/1.1\r\nX: " + "a".repeat(10_000) + "\r\n\r\n", WAIT);

    assertThat(r.status()).isEqualTo(431);
    assertThat(s.refusals().get(Refusal.REQUEST_TOO_LARGE)).isEqualTo(1);
  }

  @Test
  void aRequestLineThatIsNotHttp_isAnswered400() {
    BoundedHttpServer s = start(new HttpLimits(WAIT, WAIT, 4, 1), r -> new Response(200, "application/json", OK));

    for (String bad : List.of("\u0016\u0003\u0001\r\n\r\n", "GET\r\n\r\n", "get / HTTP/1.1\r\n\r\n",
        "GET http://x/ HTTP/1.1\r\n\r\n", "GET / SPDY/3\r\n\r\n")) {
      assertThat(RawHttp.exchange(s.address(), bad, WAIT).status()).as(bad).isEqualTo(400);
    }
    assertThat(s.refusals().get(Refusal.BAD_REQUEST)).isEqualTo(5);
  }

  @Test
  void aHandlerThatThrows_isA500_andTheServerGoesOn() {
    BoundedHttpServer s = start(new HttpLimits(WAIT, WAIT, 4, 1), r -> {
      if (r.path().equals("/boom")) {
        throw new IllegalStateException("thrown by the test");
      }
      return new Response(200, "application/json", OK);
    });

    assertThat(RawHttp.get(s.address(), "/boom", WAIT).status()).isEqualTo(500);
    assertThat(RawHttp.get(s.address(), "/healthz", WAIT).status()).isEqualTo(200);
  }

  @Test
  void close_closesOpenConnections_andStopsTheThreads() throws Exception {
    BoundedHttpServer s = BoundedHttpServer.start("test-http-close", loopback(), new HttpLimits(WAIT, WAIT, 4, 1),
        r -> new Response(200, "application/json", OK));
    Socket stalled = track(RawHttp.stall(s.address(), "G"));

    s.close();

    assertThat(RawHttp.closedByServer(stalled, WAIT)).isTrue();
    await().atMost(WAIT).until(() -> Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.getName().startsWith("test-http-close") && t.isAlive()));
  }

  private BoundedHttpServer start(HttpLimits limits, BoundedHttpServer.Handler handler) {
    try {
      BoundedHttpServer s = BoundedHttpServer.start("test-http", loopback(), limits, handler);
      cleanup.add(s);
      return s;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private Socket track(Socket s) {
    cleanup.add(s);
    return s;
  }

  private static InetSocketAddress loopback() {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  }
}
