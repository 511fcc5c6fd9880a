package dev.rotor.sds.conformance;

import static dev.rotor.sds.conformance.TestIdentities.WORKLOAD;
import static dev.rotor.sds.conformance.TestIdentities.federated;
import static dev.rotor.sds.conformance.TestIdentities.workloadSvid;
import static dev.rotor.sds.conformance.Wire.deltaSubscribe;
import static dev.rotor.sds.conformance.Wire.names;
import static dev.rotor.sds.conformance.Wire.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.xds.Resource;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.SecretNaming;
import dev.rotor.xds.secret.ValidationForm;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Serialize once, fan out, newest wins (shared/design.md): one encoded message per resource
 * version for every stream, and a burst of changes never queues stale versions for a reader.
 */
class FanOutTest {

  private final SdsHarness sds = new SdsHarness();

  @AfterEach
  void stop() throws InterruptedException {
    sds.close();
  }

  @Test
  void oneEncodedMessagePerResourceVersionIsSharedByAllStreams() {
    SecretCatalog catalog = sds.publish(federated(workloadSvid()));
    Resource served = catalog.get(WORKLOAD, ValidationForm.SPIFFE_VALIDATOR).orElseThrow();
    var a = sds.sotw();
    var b = sds.sotw();
    var d = sds.delta();

    a.send(subscribe(WORKLOAD));
    b.send(subscribe(WORKLOAD));
    d.send(deltaSubscribe(WORKLOAD));
    DiscoveryResponse ra = a.awaitResponse();
    DiscoveryResponse rb = b.awaitResponse();
    DeltaDiscoveryResponse rd = d.awaitResponse();

    // The engine handed every stream the catalog's own Resource: nothing was re-encoded...
    for (String nonce : List.of(ra.getNonce(), rb.getNonce(), rd.getNonce())) {
      assertThat(sds.events.sentWithNonce(nonce).resources()).singleElement().isSameAs(served);
    }
    // ...and in-process gRPC passes messages by reference, so the very same bytes arrived.
    assertThat(ra.getResources(0).getValue()).isSameAs(served.body().getValue());
    assertThat(rb.getResources(0).getValue()).isSameAs(served.body().getValue());
    assertThat(rd.getResources(0).getResource().getValue()).isSameAs(served.body().getValue());
  }

  @Test
  void newestWins_aReaderThatStoppedReadingGetsOnlyTheNewestVersion() {
    sds.publish(federated(workloadSvid()));
    var slow = sds.slowReader();
    slow.send(subscribe(WORKLOAD));
    DiscoveryResponse first = slow.awaitResponse();
    List<SecretCatalog> burst = catalogs(50);

    burst.forEach(sds::publish); // the reader takes nothing: flow control holds the server back

    slow.request(1);
    DiscoveryResponse next = slow.awaitResponse();
    assertThat(next.getVersionInfo()).isEqualTo(version(burst.get(burst.size() - 1)));
    slow.request(100);
    slow.assertNoResponse();
    assertThat(sds.events.sent).extracting(RecordingEvents.Sent::nonce)
        .as("nothing was encoded for the versions the reader never took")
        .containsExactly(first.getNonce(), next.getNonce());
  }

  @Test
  void newestWins_eachResponseIsARealChangeAndTheLastIsTheNewest() {
    sds.publish(federated(workloadSvid()));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse first = peer.awaitResponse();
    List<SecretCatalog> burst = catalogs(50);
    List<String> published = burst.stream().map(FanOutTest::version).toList();
    String newest = published.get(published.size() - 1);

    burst.forEach(sds::publish); // and the client never ACKs

    List<String> received = new ArrayList<>();
    String last = first.getVersionInfo();
    while (!last.equals(newest)) {
      DiscoveryResponse r = peer.awaitResponse();
      assertThat(names(r)).containsExactly(WORKLOAD);
      last = r.getVersionInfo();
      received.add(last);
    }
    peer.assertNoResponse();
    assertThat(received).doesNotHaveDuplicates().hasSizeLessThanOrEqualTo(published.size());
    assertThat(published).containsSubsequence(received); // in publish order, each one a real change
  }

  private static List<SecretCatalog> catalogs(int n) {
    List<SecretCatalog> catalogs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      catalogs.add(SecretCatalog.build(federated(workloadSvid()), SecretNaming.SPIRE_DEFAULTS));
    }
    return catalogs;
  }

  private static String version(SecretCatalog catalog) {
    return catalog.get(WORKLOAD, ValidationForm.SPIFFE_VALIDATOR).orElseThrow().version();
  }
}
