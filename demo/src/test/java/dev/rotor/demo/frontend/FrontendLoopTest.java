package dev.rotor.demo.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The loop against a fake backend (standing in for the frontend's Envoy and what is behind it). */
class FrontendLoopTest {
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);
  private static final String DEMO_ANSWER = "{\"frontendToBackend\":{\"spiffeId\":"
      + "\"spiffe://example.org/ns/demo/sa/frontend\"},\"orders\":[]}";

  private HttpServer backend;
  private final AtomicReference<Reply> reply = new AtomicReference<>(new Reply(200, "application/json", DEMO_ANSWER));
  private final AtomicInteger calls = new AtomicInteger();
  private final List<CallResult> logged = new CopyOnWriteArrayList<>();

  record Reply(int status, String contentType, String body) {}

  @BeforeEach
  void startFakeBackend() throws IOException {
    backend = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    backend.createContext("/api/demo", exchange -> {
      calls.incrementAndGet();
      Reply r = reply.get();
      byte[] body = r.body().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", r.contentType());
      exchange.sendResponseHeaders(r.status(), body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    backend.start();
  }

  @AfterEach
  void stopFakeBackend() {
    backend.stop(0);
  }

  private FrontendLoop loop(URI url) {
    return new FrontendLoop(new BackendCaller(url, Duration.ofSeconds(2), CLOCK), logged::add,
        Executors.newSingleThreadScheduledExecutor(), Duration.ofMillis(20));
  }

  private URI demoUrl() {
    return URI.create("http://127.0.0.1:" + backend.getAddress().getPort() + "/api/demo");
  }

  @Test
  void tick_backendAnswers_successWithTheAnswerLogged() throws Exception {
    FrontendLoop loop = loop(demoUrl());

    CallResult r = loop.tick();

    assertThat(r.success()).isTrue();
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.at()).isEqualTo("2026-01-02T03:04:05Z");
    assertThat(r.latencyMillis()).isNotNegative();
    assertThat(r.answer().at("/frontendToBackend/spiffeId").asText()).isEqualTo("spiffe://example.org/ns/demo/sa/frontend");
    assertThat(r.error()).isNull();
    assertThat(logged).containsExactly(r);
    assertThat(loop.latest()).contains(r);
    assertThat(loop.successes()).isEqualTo(1);
    assertThat(loop.failures()).isZero();
  }

  @Test
  void tick_envoyRbacDenies_failureWithEnvoysText() throws Exception {
    reply.set(new Reply(403, "text/plain", "RBAC: access denied"));
    FrontendLoop loop = loop(demoUrl());

    CallResult r = loop.tick();

    assertThat(r.success()).isFalse();
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.error()).isEqualTo("HTTP 403: RBAC: access denied");
    assertThat(loop.failures()).isEqualTo(1);
  }

  @Test
  void tick_backendReportsDatabaseError_failureKeepsTheJsonAnswer() throws Exception {
    reply.set(new Reply(503, "application/json", "{\"backendToDatabase\":{\"error\":\"connection refused\"}}"));

    CallResult r = loop(demoUrl()).tick();

    assertThat(r.success()).isFalse();
    assertThat(r.error()).isEqualTo("HTTP 503");
    assertThat(r.answer().at("/backendToDatabase/error").asText()).isEqualTo("connection refused");
  }

  @Test
  void tick_nothingListening_failureWithoutStatus() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }

    CallResult r = loop(URI.create("http://127.0.0.1:" + closedPort + "/api/demo")).tick();

    assertThat(r.success()).isFalse();
    assertThat(r.status()).isZero();
    assertThat(r.error()).startsWith("ConnectException");
    assertThat(logged).containsExactly(r);
  }

  @Test
  void tick_okStatusButNotJson_isAFailure() throws Exception {
    reply.set(new Reply(200, "text/html", "<html>upstream connect error</html>"));

    CallResult r = loop(demoUrl()).tick();

    assertThat(r.success()).isFalse();
    assertThat(r.error()).isEqualTo("HTTP 200: <html>upstream connect error</html>");
  }

  @Test
  void start_callsRepeatedly_andStopEndsTheLoop() throws Exception {
    CountDownLatch threeCalls = new CountDownLatch(3);
    FrontendLoop counting = new FrontendLoop(new BackendCaller(demoUrl(), Duration.ofSeconds(2), CLOCK),
        r -> threeCalls.countDown(), Executors.newSingleThreadScheduledExecutor(), Duration.ofMillis(20));

    counting.start();
    boolean called = threeCalls.await(10, TimeUnit.SECONDS);
    counting.stop(Duration.ofSeconds(5));

    assertThat(called).as("three calls within 10 s at a 20 ms interval").isTrue();
    assertThat(counting.successes()).isGreaterThanOrEqualTo(3);
  }
}
