package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.testing.RawHttp;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 4: two connections that sent one byte and stalled blocked /healthz, /readyz,
 * /metrics and /status for as long as they stayed open (held 100 s), so a kubelet liveness probe
 * restarted a healthy Rotor. Here stalled connections stay open while every endpoint is probed,
 * each probe bounded by {@link #PROBE_TIMEOUT} as kubelet's timeoutSeconds bounds it.
 */
class AdminSlowlorisTest {

  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(3);
  private static final List<String> ENDPOINTS = List.of("/healthz", "/readyz", "/metrics", "/status");

  @TempDir Path dir;
  private RunningRotor rotor;
  private InetSocketAddress admin;
  private final List<Socket> stalled = new ArrayList<>();

  @BeforeEach
  void start() {
    rotor = RunningRotor.start(dir, Optional.empty());
    URI url = URI.create(rotor.adminUrl());
    admin = new InetSocketAddress(url.getHost(), url.getPort());
    await("the dev CA's first identity").atMost(Duration.ofSeconds(10))
        .until(() -> rotor.runtime.gate().status().current().isPresent());
  }

  @AfterEach
  void stop() throws IOException {
    for (Socket s : stalled) {
      s.close();
    }
    rotor.close();
  }

  @Test
  void twoStalledConnections_doNotDelayAnyEndpoint() {
    stall(2, "G");

    for (String path : ENDPOINTS) {
      RawHttp.Response r = RawHttp.get(admin, path, PROBE_TIMEOUT);
      assertThat(r.status()).as(path).isEqualTo(200);
    }
  }

  @Test
  void stalledRequestHeads_ofEveryShape_doNotDelayTheProbes() {
    stall(5, "G");
    stall(5, "GET /healthz HTTP/1.1\r\n");
    stall(5, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaa");
    stall(5, "");

    for (int i = 0; i < 3; i++) {
      for (String path : ENDPOINTS) {
        assertThat(RawHttp.get(admin, path, PROBE_TIMEOUT).status()).as(path).isEqualTo(200);
      }
    }
  }

  @Test
  void moreStalledConnectionsThanTheLimit_theProbesStillGetIn_andTheEvictionsAreCounted() {
    stall(200, "G"); // the default limit is 64

    long slowest = 0;
    for (String path : ENDPOINTS) {
      long t0 = System.nanoTime();
      assertThat(RawHttp.get(admin, path, PROBE_TIMEOUT).status()).as(path).isEqualTo(200);
      slowest = Math.max(slowest, System.nanoTime() - t0);
    }
    System.out.printf("200 stalled connections held: slowest of %s answered in %d ms%n", ENDPOINTS,
        slowest / 1_000_000);
    String metrics = RawHttp.get(admin, "/metrics", PROBE_TIMEOUT).body();
    assertThat(OperationsTest.sample(PrometheusText.parse(metrics), "rotor_admin_refusals", "rotor_admin_refusals_total",
        Map.of("reason", "connection_limit")))
        .as("connections closed to stay within --admin-max-connections").isGreaterThanOrEqualTo(200 - 64);
  }

  private void stall(int n, String partial) {
    for (int i = 0; i < n; i++) {
      stalled.add(RawHttp.stall(admin, partial));
    }
  }
}
