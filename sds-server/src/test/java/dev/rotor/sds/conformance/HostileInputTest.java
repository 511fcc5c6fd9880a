package dev.rotor.sds.conformance;

import static dev.rotor.sds.conformance.TestIdentities.WORKLOAD;
import static dev.rotor.sds.conformance.TestIdentities.federated;
import static dev.rotor.sds.conformance.TestIdentities.workloadSvid;
import static dev.rotor.sds.conformance.Wire.ack;
import static dev.rotor.sds.conformance.Wire.deltaSubscribe;
import static dev.rotor.sds.conformance.Wire.names;
import static dev.rotor.sds.conformance.Wire.subscribe;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Requests no Envoy sends: each fails its own stream with INVALID_ARGUMENT and a short description
 * (never an echo of the input), and the server keeps serving everyone else.
 */
class HostileInputTest {

  private static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

  private final SdsHarness sds = new SdsHarness();

  @AfterEach
  void stop() throws InterruptedException {
    sds.close();
  }

  @Test
  void sotw_hundredThousandNames_isInvalidArgumentAndOtherStreamsAreStillServed() {
    sds.publish(federated(workloadSvid()));
    var bystander = sds.sotw();
    bystander.send(subscribe(WORKLOAD));
    bystander.send(ack(bystander.awaitResponse(), WORKLOAD));
    var hostile = sds.sotw();

    hostile.send(subscribe(manyNames()));

    assertInvalidArgument(hostile.awaitClosed());
    sds.publish(federated(workloadSvid()));
    assertThat(names(bystander.awaitResponse())).containsExactly(WORKLOAD);
    var newcomer = sds.sotw();
    newcomer.send(subscribe("ROOTCA"));
    assertThat(names(newcomer.awaitResponse())).containsExactly("ROOTCA");
  }

  @Test
  void sotw_megabyteName_isInvalidArgument() {
    sds.publish(federated(workloadSvid()));
    var hostile = sds.sotw();

    hostile.send(subscribe(megabyteName()));

    assertInvalidArgument(hostile.awaitClosed());
  }

  @Test
  void sotw_wrongTypeUrl_isInvalidArgument() {
    var hostile = sds.sotw();

    hostile.send(subscribe(WORKLOAD).toBuilder().setTypeUrl(CLUSTER_TYPE).build());

    assertInvalidArgument(hostile.awaitClosed());
  }

  @Test
  void sotw_hostileRequestLaterOnTheStream_isInvalidArgument() {
    sds.publish(federated(workloadSvid()));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r = peer.awaitResponse();

    peer.send(DiscoveryRequest.newBuilder(ack(r, WORKLOAD)).addResourceNames(megabyteName()).build());

    assertInvalidArgument(peer.awaitClosed());
  }

  @Test
  void delta_hundredThousandNames_isInvalidArgumentAndOtherStreamsAreStillServed() {
    sds.publish(federated(workloadSvid()));
    var hostile = sds.delta();

    hostile.send(deltaSubscribe(manyNames()));

    assertInvalidArgument(hostile.awaitClosed());
    var newcomer = sds.delta();
    newcomer.send(deltaSubscribe("ROOTCA"));
    assertThat(Wire.names(newcomer.awaitResponse())).containsExactly("ROOTCA");
  }

  @Test
  void delta_hundredThousandUnsubscribes_isInvalidArgument() {
    var hostile = sds.delta();

    hostile.send(DeltaDiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.SECRET)
        .addAllResourceNamesUnsubscribe(List.of(manyNames())).build());

    assertInvalidArgument(hostile.awaitClosed());
  }

  @Test
  void delta_megabyteName_isInvalidArgument() {
    var hostile = sds.delta();

    hostile.send(deltaSubscribe(megabyteName()));

    assertInvalidArgument(hostile.awaitClosed());
  }

  @Test
  void delta_wrongTypeUrl_isInvalidArgument() {
    var hostile = sds.delta();

    hostile.send(deltaSubscribe(WORKLOAD).toBuilder().setTypeUrl(CLUSTER_TYPE).build());

    assertInvalidArgument(hostile.awaitClosed());
  }

  @Test
  void failedAndCancelledStreamsLeaveNothingBehind() {
    sds.publish(federated(workloadSvid()));
    var kept = sds.sotw();
    kept.send(subscribe(WORKLOAD));
    kept.awaitResponse();
    var hostile = sds.sotw();
    var cancelled = sds.delta();
    cancelled.send(deltaSubscribe(WORKLOAD));
    cancelled.awaitResponse();

    hostile.send(subscribe(megabyteName()));
    assertInvalidArgument(hostile.awaitClosed());
    cancelled.close();

    // Only the live stream still listens to the store: no work and no memory for dead ones.
    await().atMost(SdsTestPeer.TIMEOUT).untilAsserted(() -> assertThat(sds.store.listenerCount()).isEqualTo(1));
  }

  private static void assertInvalidArgument(Status status) {
    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).isNotBlank().hasSizeLessThan(400);
  }

  private static String[] manyNames() {
    List<String> names = new ArrayList<>(100_000);
    for (int i = 0; i < 100_000; i++) {
      names.add("spiffe://example.org/n" + i);
    }
    return names.toArray(String[]::new);
  }

  private static String megabyteName() {
    return "spiffe://example.org/" + "a".repeat(1 << 20);
  }
}
