package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, low: two Rotors started together on one socket path both reported ready, and the one
 * whose socket the other had renamed over kept /readyz at 200 with no way for an Envoy to reach it.
 * Here the takeover is made by hand: another process's socket replaces Rotor's at its path.
 */
class SocketTakeoverTest {

  private final UdsRuntime rotor = new UdsRuntime();

  @AfterEach
  void stop() throws Exception {
    rotor.close();
  }

  @Test
  void aRotorWhoseSocketWasReplaced_isNotReady() throws Exception {
    Path socket = rotor.runtime().sdsSocket().orElseThrow();
    await("the dev CA's first identity").atMost(Duration.ofSeconds(10))
        .until(() -> rotor.runtime().readiness().check().ready());

    Files.delete(socket);
    try (ServerSocketChannel successor = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      successor.bind(UnixDomainSocketAddress.of(socket));

      assertThat(rotor.runtime().readiness().check().reasons()).containsExactly("--sds-socket " + socket
          + ": the socket file was removed or replaced by another process; Envoys cannot reach this Rotor (restart it)");
    }
  }
}
