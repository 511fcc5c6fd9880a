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

  private static InetSocketAddress address(HealthServer h) {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), h.port());
  }
}
