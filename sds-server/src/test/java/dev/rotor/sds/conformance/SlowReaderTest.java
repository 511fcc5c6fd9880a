package dev.rotor.sds.conformance;

import static dev.rotor.sds.conformance.TestIdentities.WORKLOAD;
import static dev.rotor.sds.conformance.TestIdentities.federated;
import static dev.rotor.sds.conformance.TestIdentities.workloadSvid;
import static dev.rotor.sds.conformance.Wire.ack;
import static dev.rotor.sds.conformance.Wire.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.SecretNaming;
import dev.rotor.xds.secret.ValidationForm;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client that stops reading, among clients that keep up, through many rotations: the stalled
 * stream costs one pending flag, not a queue (nothing is even encoded for it), the others' push
 * latency does not grow, and when it reads again it gets the newest version only.
 */
class SlowReaderTest {

  private static final int ROTATIONS = 300;
  private static final int READERS = 20;

  private final SdsHarness sds = new SdsHarness();

  @AfterEach
  void stop() throws InterruptedException {
    sds.close();
  }

  @Test
  void stalledReader_isOwedOnlyTheNewestVersionAndDoesNotSlowTheOthers() {
    sds.publish(federated(workloadSvid()));
    var stalled = sds.slowReader();
    stalled.send(subscribe(WORKLOAD));
    DiscoveryResponse first = stalled.awaitResponse();
    long stalledStream = sds.events.sentWithNonce(first.getNonce()).stream();
    List<SdsTestPeer<DiscoveryRequest, DiscoveryResponse>> readers = new ArrayList<>();
    for (int i = 0; i < READERS; i++) {
      var reader = sds.sotw();
      reader.send(subscribe(WORKLOAD));
      reader.send(ack(reader.awaitResponse(), WORKLOAD));
      readers.add(reader);
    }
    List<SecretCatalog> rotations = new ArrayList<>();
    for (int i = 0; i < ROTATIONS; i++) {
      rotations.add(SecretCatalog.build(federated(workloadSvid()), SecretNaming.SPIRE_DEFAULTS));
    }

    long[] latencyNanos = new long[ROTATIONS];
    for (int i = 0; i < ROTATIONS; i++) {
      String version = rotations.get(i).get(WORKLOAD, ValidationForm.SPIFFE_VALIDATOR).orElseThrow().version();
      long start = System.nanoTime();
      sds.publish(rotations.get(i));
      for (var reader : readers) {
        DiscoveryResponse r = reader.awaitResponse();
        assertThat(r.getVersionInfo()).as("rotation %d", i).isEqualTo(version);
        reader.send(ack(r, WORKLOAD));
      }
      latencyNanos[i] = System.nanoTime() - start;
    }

    assertThat(sds.events.sent.stream().filter(s -> s.stream() == stalledStream))
        .as("responses encoded for the stalled stream during %d rotations", ROTATIONS).hasSize(1);
    long early = median(latencyNanos, 0, ROTATIONS / 3);
    long late = median(latencyNanos, ROTATIONS - ROTATIONS / 3, ROTATIONS);
    System.out.printf("stalled reader among %d readers: median push-to-all latency %.2f ms (first third)"
        + " vs %.2f ms (last third)%n", READERS, early / 1e6, late / 1e6);
    assertThat(late).as("median latency of the last rotations, ns (first rotations: %d ns)", early)
        .isLessThan(3 * early + 5_000_000L);

    stalled.request(1);
    DiscoveryResponse resumed = stalled.awaitResponse();
    assertThat(resumed.getVersionInfo()).isEqualTo(
        rotations.get(ROTATIONS - 1).get(WORKLOAD, ValidationForm.SPIFFE_VALIDATOR).orElseThrow().version());
    stalled.request(ROTATIONS);
    stalled.assertNoResponse();
  }

  private static long median(long[] values, int from, int to) {
    long[] part = java.util.Arrays.copyOfRange(values, from, to);
    java.util.Arrays.sort(part);
    return part[part.length / 2];
  }
}
