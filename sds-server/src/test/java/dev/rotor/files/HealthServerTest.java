package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.files.HelperConfig.HealthChecks;
import dev.rotor.testing.RawHttp;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, finding 4: write-certs' health listener ran on one thread of the JDK's HTTP server, so
 * one connection that sent a byte and stalled blocked every probe after it.
 */
class HealthServerTest {

  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(3);

  @Test
  void aStalledConnection_doesNotDelayTheProbes() throws Exception {
    FileWriterStatus ready = new FileWriterStatus(true, Optional.empty(), 1, 0, 0, 0, 0, 0, 0,
        Optional.of(Instant.parse("2026-01-01T00:00:00Z")), Optional.of("abc"));
    try (HealthServer h = HealthServer.start(new HealthChecks(true, "127.0.0.1", 0, "/live", "/ready"), () -> ready);
        Socket stalled = RawHttp.stall(address(h), "G")) {

      assertThat(RawHttp.get(address(h), "/live", PROBE_TIMEOUT).status()).isEqualTo(200);
      assertThat(RawHttp.get(address(h), "/ready", PROBE_TIMEOUT).status()).isEqualTo(200);
      assertThat(RawHttp.get(address(h), "/ready/x", PROBE_TIMEOUT).status()).isEqualTo(404);
    }
  }

  @Test
  void startupLine_onLoopback_saysSoAndWhatAKubeletNeeds() {
    assertThat(FileWriterService.healthListenerStarted("127.0.0.1", 8081)).isEqualTo("file writer health listener"
        + " on 127.0.0.1:8081, loopback only (Rotor's default; spiffe-helper listens on every interface): a kubelet's"
        + " HTTP probe cannot reach it; set health_checks { bind_address = \"0.0.0.0\" } for Kubernetes probes");
    assertThat(FileWriterService.healthListenerStarted("localhost", 8081)).contains("loopback only");
    assertThat(FileWriterService.healthListenerStarted("::1", 9000)).startsWith("file writer health listener on"
        + " [::1]:9000, loopback only");
    assertThat(FileWriterService.healthListenerStarted("0.0.0.0", 8081))
        .isEqualTo("file writer health listener on 0.0.0.0:8081");
  }

  @Test
  void defaultHealthListener_logsTheLoopbackLine_whenItStarts(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    HelperConfig config = new HelperConfig(new dev.rotor.source.workload.WorkloadApiAddress.Unix(dir.resolve("a.sock")),
        dir, Optional.empty(), java.util.List.of(), Optional.of("jwt.json"), new HelperConfig.FileSettings(0644, 0600,
        0600, 0600, Optional.empty(), Optional.empty()), HelperConfig.Reload.none(), true,
        new HealthChecks(true, "127.0.0.1", 0, "/live", "/ready"), "");
    try (Logs logs = new Logs(FileWriterService.class); FileWriterService s = FileWriterService.start(config)) {
      assertThat(logs.lines()).anySatisfy(l -> assertThat(l).isEqualTo("INFO file writer health listener on"
          + " 127.0.0.1:" + s.healthPort().orElseThrow() + ", loopback only (Rotor's default; spiffe-helper listens"
          + " on every interface): a kubelet's HTTP probe cannot reach it; set health_checks { bind_address ="
          + " \"0.0.0.0\" } for Kubernetes probes"));
    }
  }

  private static InetSocketAddress address(HealthServer h) {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), h.port());
  }
}
