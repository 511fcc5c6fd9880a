package dev.rotor.config;

import static dev.rotor.config.AdsWire.CDS;
import static dev.rotor.config.AdsWire.LDS;
import static dev.rotor.config.AdsWire.SDS;
import static dev.rotor.config.AdsWire.deltaAck;
import static dev.rotor.config.AdsWire.deltaNack;
import static dev.rotor.config.AdsWire.deltaSubscribe;
import static dev.rotor.config.AdsWire.listener;
import static dev.rotor.config.AdsWire.names;
import static dev.rotor.config.AdsWire.node;
import static dev.rotor.config.TestPolicy.CACHE;
import static dev.rotor.config.TestPolicy.DB;
import static dev.rotor.config.TestPolicy.INBOUND;
import static dev.rotor.config.TestPolicy.LOCAL_APP;
import static dev.rotor.config.TestPolicy.OPS_ID;
import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.config.RecordingXdsEvents.Kind;
import dev.rotor.config.RecordingXdsEvents.Reply;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.grpc.Status;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Incremental ADS ({@code DeltaAggregatedResources}) serving listeners, clusters and secrets from
 * a policy and an identity, against {@code shared/reference/xds-protocol.md}.
 */
class DeltaAdsConformanceTest {

  private static final Node BACKEND = node("backend");

  private final AdsHarness ads = new AdsHarness();

  @AfterEach
  void stop() {
    ads.close();
  }

  /** Subscribes the backend to all listeners (legacy wildcard), takes the first response and ACKs it. */
  private DeltaDiscoveryResponse subscribedToListeners(XdsTestPeer<DeltaDiscoveryRequest, DeltaDiscoveryResponse> envoy) {
    envoy.send(deltaSubscribe(BACKEND, LDS));
    DeltaDiscoveryResponse first = envoy.awaitResponse();
    envoy.send(deltaAck(first));
    ads.events.awaitAcks(1);
    return first;
  }

  @Test
  void rule05_requestWithoutTypeUrlOnDeltaAdsIsAnError() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.deltaAds("backend");

    envoy.send(DeltaDiscoveryRequest.newBuilder().setNode(BACKEND).build());

    assertThat(envoy.awaitClosed().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void rule12_wildcardGetsTheNodesWorkloadEachResourceWithItsVersion() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.deltaAds("backend");

    envoy.send(deltaSubscribe(BACKEND, CDS), deltaSubscribe(BACKEND, LDS));

    DeltaDiscoveryResponse cds = envoy.awaitResponse();
    DeltaDiscoveryResponse lds = envoy.awaitResponse();
    assertThat(cds.getTypeUrl()).isEqualTo(CDS);
    assertThat(names(cds)).containsExactlyInAnyOrder(LOCAL_APP, DB.envoyName());
    assertThat(lds.getTypeUrl()).isEqualTo(LDS);
    assertThat(names(lds)).containsExactlyInAnyOrder(INBOUND, DB.envoyName());
    assertThat(lds.getResourcesList()).allSatisfy(r -> assertThat(r.getVersion()).isNotEmpty());
    assertThat(lds.getNonce()).isNotEmpty().isNotEqualTo(cds.getNonce());
  }

  @Test
  void rule16_policyChangeSendsOnlyTheChangedListener() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.deltaAds("backend");
    DeltaDiscoveryResponse first = subscribedToListeners(envoy);

    ads.publish(TestPolicy.demo().withBackendAlsoAllowing(OPS_ID));
    DeltaDiscoveryResponse next = envoy.awaitResponse();

    assertThat(names(first)).containsExactlyInAnyOrder(INBOUND, DB.envoyName());
    assertThat(names(next)).containsExactly(INBOUND);
    assertThat(next.getRemovedResourcesList()).isEmpty();
    assertThat(ResourceWalker.strings(listener(next, INBOUND))).contains(OPS_ID);
    envoy.assertNoResponse();
  }

  @Test
  void rule16_removedListenerAppearsInRemovedResources() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.deltaAds("backend");
    subscribedToListeners(envoy);

    ads.publish(TestPolicy.demo().withoutBackendOutbound(DB));
    DeltaDiscoveryResponse next = envoy.awaitResponse();

    assertThat(next.getResourcesList()).isEmpty();
    assertThat(next.getRemovedResourcesList()).containsExactly(DB.envoyName());
    envoy.assertNoResponse();
  }

  @Test
  void rule21_nackedListenerIsNotSentAgainUntilItChanges() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.deltaAds("backend");
    envoy.send(deltaSubscribe(BACKEND, LDS));
    DeltaDiscoveryResponse rejected = envoy.awaitResponse();

    envoy.send(deltaNack(rejected));

    assertThat(ads.events.awaitReply()).extracting(Reply::kind, Reply::typeUrl).containsExactly(Kind.NACK, LDS);
    ads.publish(TestIdentities.backend()); // a rotation: listeners unchanged
    envoy.assertNoResponse();
    ads.publish(TestPolicy.demo().withBackendAlsoAllowing(OPS_ID));
    assertThat(names(envoy.awaitResponse())).containsExactly(INBOUND);
  }

  @Test
  void nodeWithNoWorkloadGetsAnEmptyResponseSoEnvoyCanFinishInitialization() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.deltaAds("stranger");
    Node stranger = node("not-in-the-policy");

    envoy.send(deltaSubscribe(stranger, CDS), deltaSubscribe(stranger, LDS));

    DeltaDiscoveryResponse cds = envoy.awaitResponse();
    DeltaDiscoveryResponse lds = envoy.awaitResponse();
    assertThat(List.of(cds.getTypeUrl(), lds.getTypeUrl())).containsExactly(CDS, LDS);
    assertThat(cds.getResourcesList()).isEmpty();
    assertThat(lds.getResourcesList()).isEmpty();
    assertThat(cds.getNonce()).isNotEmpty();
    assertThat(lds.getNonce()).isNotEmpty();
  }

  @Test
  void rule20_reconnectSendsOnlyWhatDiffersFromTheReportedVersions() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var before = ads.deltaAds("backend");
    DeltaDiscoveryResponse had = subscribedToListeners(before);
    before.close();
    String inboundVersion = had.getResourcesList().stream().filter(r -> r.getName().equals(INBOUND)).findFirst()
        .orElseThrow().getVersion();

    var after = ads.deltaAds("backend again");
    after.send(deltaSubscribe(BACKEND, LDS).toBuilder()
        .putInitialResourceVersions(INBOUND, inboundVersion)
        .putInitialResourceVersions(DB.envoyName(), "an-older-version")
        .putInitialResourceVersions("outbound_gone", "0000000000000000")
        .build());

    DeltaDiscoveryResponse r = after.awaitResponse();
    assertThat(names(r)).containsExactly(DB.envoyName());
    assertThat(r.getRemovedResourcesList()).containsExactly("outbound_gone");
  }

  @Test
  void rule22_staleClusterIsRemovedOnlyAfterTheListenersThatUsedIt() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.deltaAds("backend");
    envoy.send(deltaSubscribe(BACKEND, CDS), deltaSubscribe(BACKEND, LDS));
    envoy.send(deltaAck(envoy.awaitResponse()), deltaAck(envoy.awaitResponse()));
    ads.events.awaitAcks(2);

    ads.publish(TestPolicy.demo().withoutBackendOutbound(DB).withBackendOutbound(TestPolicy.DATABASE));
    DeltaDiscoveryResponse first = envoy.awaitResponse();
    DeltaDiscoveryResponse second = envoy.awaitResponse();
    DeltaDiscoveryResponse third = envoy.awaitResponse();

    assertThat(List.of(first.getTypeUrl(), second.getTypeUrl(), third.getTypeUrl())).containsExactly(CDS, LDS, CDS);
    assertThat(names(first)).containsExactly(TestPolicy.DATABASE.envoyName());
    assertThat(first.getRemovedResourcesList()).isEmpty();
    assertThat(names(second)).containsExactly(TestPolicy.DATABASE.envoyName());
    assertThat(second.getRemovedResourcesList()).containsExactly(DB.envoyName());
    assertThat(third.getResourcesList()).isEmpty();
    assertThat(third.getRemovedResourcesList()).containsExactly(DB.envoyName());
    envoy.assertNoResponse();
  }

  @Test
  void rule22_23_onePushSendsSecretsThenClustersThenListeners() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.deltaAds("backend");
    envoy.send(deltaSubscribe(BACKEND, LDS), deltaSubscribe(BACKEND, CDS), deltaSubscribe(BACKEND, SDS, "default"));
    for (int i = 0; i < 3; i++) {
      envoy.send(deltaAck(envoy.awaitResponse()));
    }
    ads.events.awaitAcks(3);

    ads.publish(TestIdentities.backend(), TestPolicy.demo().withBackendOutbound(CACHE));
    List<DeltaDiscoveryResponse> push = List.of(envoy.awaitResponse(), envoy.awaitResponse(), envoy.awaitResponse());

    assertThat(push).extracting(DeltaDiscoveryResponse::getTypeUrl).containsExactly(SDS, CDS, LDS);
    assertThat(names(push.get(0))).containsExactly("default");
    assertThat(names(push.get(1))).containsExactly(CACHE.envoyName());
    assertThat(names(push.get(2))).containsExactly(CACHE.envoyName());
    envoy.assertNoResponse();
  }
}
