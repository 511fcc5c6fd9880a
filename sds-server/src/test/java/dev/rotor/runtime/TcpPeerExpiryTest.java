package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.transport.TcpMtlsOptions;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 2, against a real {@code rotor serve}: a TCP client whose SVID expires while
 * its SDS stream is open loses the stream, and its connection serves no new call. The dev CA issues
 * 10-second SVIDs (its minimum), so the test waits about that long.
 */
class TcpPeerExpiryTest {

  /** How long after the client certificate's not-after Rotor may take to end the stream. */
  private static final Duration GRACE = Duration.ofSeconds(3);

  @TempDir Path dir;
  private RunningRotor rotor;
  private TcpClient client;
  private XdsClient stream;

  @AfterEach
  void stop() {
    if (stream != null) {
      stream.close();
    }
    if (client != null) {
      client.close();
    }
    if (rotor != null) {
      rotor.close();
    }
  }

  @Test
  void streamOfAClientWhoseSvidExpired_isEnded_andItsConnectionServesNoNewCall() throws Exception {
    int port = TcpEntitlementTest.freePort();
    DevCaOptions dev = new DevCaOptions(RunningRotor.TD, List.of(TcpEntitlementTest.ROTOR, TcpEntitlementTest.CLIENT),
        Duration.ofSeconds(10), Duration.ofHours(1), Duration.ZERO, Duration.ofMinutes(30), List.of());
    rotor = RunningRotor.start(dir, Optional.empty(), dev,
        Optional.of(new TcpMtlsOptions("127.0.0.1", port, Set.of(TcpEntitlementTest.CLIENT))));
    await("the dev CA's first identity").atMost(Duration.ofSeconds(10))
        .until(() -> rotor.runtime.gate().status().current().isPresent());
    client = TcpClient.connect(rotor, port, TcpEntitlementTest.CLIENT, TcpEntitlementTest.ROTOR);
    Instant notAfter = client.svid.notAfter();
    stream = XdsClient.sds(client.channel, "client-node");
    stream.subscribe(TypeUrls.SECRET, TcpEntitlementTest.CLIENT.toString());
    stream.await();

    Status closed = stream.awaitClosed(Duration.between(Instant.now(), notAfter).plus(GRACE));
    Duration afterExpiry = Duration.between(notAfter, Instant.now());

    assertThat(closed.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(afterExpiry).as("stream ended this long after the certificate's not-after")
        .isGreaterThanOrEqualTo(Duration.ZERO).isLessThan(GRACE);
    System.out.println("[tcp-peer-expiry] the stream ended " + afterExpiry.toMillis() + " ms after the not-after");
    assertThatThrownBy(() -> SecretDiscoveryServiceGrpc.newBlockingStub(client.channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .fetchSecrets(DiscoveryRequest.newBuilder().addResourceNames(TcpEntitlementTest.CLIENT.toString()).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
  }
}
