package dev.rotor.config;

import static dev.rotor.config.AdsWire.CDS;
import static dev.rotor.config.AdsWire.LDS;
import static dev.rotor.config.AdsWire.SDS;
import static dev.rotor.config.AdsWire.ack;
import static dev.rotor.config.AdsWire.listener;
import static dev.rotor.config.AdsWire.nack;
import static dev.rotor.config.AdsWire.names;
import static dev.rotor.config.AdsWire.node;
import static dev.rotor.config.AdsWire.subscribe;
import static dev.rotor.config.TestPolicy.CACHE;
import static dev.rotor.config.TestPolicy.DB;
import static dev.rotor.config.TestPolicy.INBOUND;
import static dev.rotor.config.TestPolicy.LOCAL_APP;
import static dev.rotor.config.TestPolicy.OPS_ID;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import dev.rotor.config.RecordingXdsEvents.Kind;
import dev.rotor.config.RecordingXdsEvents.Reply;
import dev.rotor.xds.envoy.SdsSecretConfigs;
import dev.rotor.xds.secret.SecretNaming;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * State-of-the-world ADS ({@code StreamAggregatedResources}) serving listeners, clusters and
 * secrets from a policy and an identity, against {@code shared/reference/xds-protocol.md}. Each
 * test is named by the rule it proves.
 */
class SotwAdsConformanceTest {

  private static final Node BACKEND = node("backend");
  private static final Node FRONTEND = node("frontend");

  private final AdsHarness ads = new AdsHarness();

  @AfterEach
  void stop() {
    ads.close();
  }

  // ---- rule 5: one sub-stream per type ----

  @Test
  void rule05_requestWithoutTypeUrlOnAdsIsAnError() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");

    envoy.send(DiscoveryRequest.newBuilder().setNode(BACKEND).addResourceNames(INBOUND).build());

    Status closed = envoy.awaitClosed();
    assertThat(closed.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(closed.getDescription()).startsWith("type_url: empty");
  }

  @Test
  void rule05_eachTypeHasItsOwnNonceAndVersion() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");
    envoy.send(subscribe(BACKEND, CDS));
    DiscoveryResponse cds1 = envoy.awaitResponse();
    envoy.send(subscribe(BACKEND, LDS));
    DiscoveryResponse lds1 = envoy.awaitResponse();

    assertThat(cds1.getTypeUrl()).isEqualTo(CDS);
    assertThat(lds1.getTypeUrl()).isEqualTo(LDS);
    assertThat(lds1.getNonce()).isNotEqualTo(cds1.getNonce());
    assertThat(lds1.getVersionInfo()).isNotEmpty().isNotEqualTo(cds1.getVersionInfo());

    // The CDS ACK answers CDS's own last nonce: an LDS response sent after it does not make it stale.
    envoy.send(ack(cds1));
    Reply cdsAck = ads.events.awaitReply();
    envoy.send(ack(lds1));
    Reply ldsAck = ads.events.awaitReply();
    assertThat(cdsAck).extracting(Reply::kind, Reply::typeUrl, Reply::nonce).containsExactly(Kind.ACK, CDS, cds1.getNonce());
    assertThat(ldsAck).extracting(Reply::kind, Reply::typeUrl, Reply::nonce).containsExactly(Kind.ACK, LDS, lds1.getNonce());

    // A change of listeners only is a new LDS version; CDS keeps its version and sends nothing.
    ads.publish(TestPolicy.demo().withBackendAlsoAllowing(OPS_ID));
    DiscoveryResponse lds2 = envoy.awaitResponse();
    assertThat(lds2.getTypeUrl()).isEqualTo(LDS);
    assertThat(lds2.getVersionInfo()).isNotEqualTo(lds1.getVersionInfo());
    envoy.assertNoResponse();
  }

  // ---- rules 6 and 7: ACK and NACK ----

  @Test
  void rule06_ackOfListenersAndClustersProducesNothing() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");
    envoy.send(subscribe(BACKEND, CDS), subscribe(BACKEND, LDS));
    DiscoveryResponse cds = envoy.awaitResponse();
    DiscoveryResponse lds = envoy.awaitResponse();

    envoy.send(ack(cds), ack(lds));

    assertThat(ads.events.awaitAcks(2).typeUrl()).isEqualTo(LDS);
    envoy.assertNoResponse();
  }

  @Test
  void rule07_nackedListenersAreNotSentAgainUntilTheyChange() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");
    envoy.send(subscribe(BACKEND, LDS));
    DiscoveryResponse rejected = envoy.awaitResponse();

    envoy.send(nack(rejected, ""));

    assertThat(ads.events.awaitReply()).extracting(Reply::kind, Reply::typeUrl, Reply::nonce)
        .containsExactly(Kind.NACK, LDS, rejected.getNonce());
    envoy.assertNoResponse();
    // A new state that leaves the listeners as they were (a certificate rotation) is no reason
    // to send the rejected version again.
    ads.publish(TestIdentities.backend());
    envoy.assertNoResponse();
    // The next real change is sent.
    ads.publish(TestPolicy.demo().withBackendAlsoAllowing(OPS_ID));
    DiscoveryResponse next = envoy.awaitResponse();
    assertThat(next.getVersionInfo()).isNotEqualTo(rejected.getVersionInfo());
    assertThat(ResourceWalker.strings(listener(next, INBOUND))).contains(OPS_ID);
  }

  // ---- rules 12 and 13: wildcard, full state ----

  @Test
  void rule12_wildcardLdsCdsGetsTheNodesWorkload() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");

    envoy.send(subscribe(BACKEND, CDS), subscribe(BACKEND, LDS));

    assertThat(names(envoy.awaitResponse())).containsExactly(LOCAL_APP, DB.envoyName());
    assertThat(names(envoy.awaitResponse())).containsExactly(INBOUND, DB.envoyName());
  }

  @Test
  void rule13_ldsResponseCarriesTheFullState() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");
    envoy.send(subscribe(BACKEND, LDS));
    DiscoveryResponse first = envoy.awaitResponse();
    envoy.send(ack(first));
    ads.events.awaitAcks(1);

    // Only the inbound listener changes; the response still carries both.
    ads.publish(TestPolicy.demo().withBackendAlsoAllowing(OPS_ID));
    DiscoveryResponse next = envoy.awaitResponse();

    assertThat(names(first)).containsExactly(INBOUND, DB.envoyName());
    assertThat(names(next)).containsExactly(INBOUND, DB.envoyName());
    assertThat(listener(next, DB.envoyName())).isEqualTo(listener(first, DB.envoyName()));
    assertThat(listener(next, INBOUND)).isNotEqualTo(listener(first, INBOUND));
  }

  @Test
  void rule13_removedListenerIsAbsentFromTheNextResponse() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");
    envoy.send(subscribe(BACKEND, CDS), subscribe(BACKEND, LDS));
    DiscoveryResponse cds1 = envoy.awaitResponse();
    DiscoveryResponse lds1 = envoy.awaitResponse();
    envoy.send(ack(cds1), ack(lds1));
    ads.events.awaitAcks(2);

    ads.publish(TestPolicy.demo().withoutBackendOutbound(DB));
    Map<String, DiscoveryResponse> next = byType(envoy.awaitResponse(), envoy.awaitResponse());

    assertThat(names(next.get(CDS))).containsExactly(LOCAL_APP);
    assertThat(names(next.get(LDS))).containsExactly(INBOUND);
    envoy.assertNoResponse();
  }

  @Test
  void rule13_nodeWithNoWorkloadGetsAnEmptyResponseSoEnvoyCanFinishInitialization() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("stranger");
    Node stranger = node("not-in-the-policy");

    envoy.send(subscribe(stranger, CDS), subscribe(stranger, LDS));

    // Envoy waits for the first CDS and LDS responses before it finishes initializing: an empty
    // one must be sent, not withheld.
    DiscoveryResponse cds = envoy.awaitResponse();
    DiscoveryResponse lds = envoy.awaitResponse();
    assertThat(cds.getTypeUrl()).isEqualTo(CDS);
    assertThat(cds.getResourcesList()).isEmpty();
    assertThat(cds.getNonce()).isNotEmpty();
    assertThat(lds.getTypeUrl()).isEqualTo(LDS);
    assertThat(lds.getResourcesList()).isEmpty();
    assertThat(lds.getNonce()).isNotEmpty();
    envoy.send(ack(cds), ack(lds));
    ads.events.awaitAcks(2);
    envoy.assertNoResponse();
  }

  @Test
  void rule13_workloadLeftWithNothingGetsAnEmptyResponseThatDeletesEverything() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("frontend");
    envoy.send(subscribe(FRONTEND, CDS), subscribe(FRONTEND, LDS));
    DiscoveryResponse cds1 = envoy.awaitResponse();
    DiscoveryResponse lds1 = envoy.awaitResponse();
    envoy.send(ack(cds1), ack(lds1));
    ads.events.awaitAcks(2);

    ads.publish(TestPolicy.demo().withoutFrontendOutbound(TestPolicy.BACKEND));
    Map<String, DiscoveryResponse> next = byType(envoy.awaitResponse(), envoy.awaitResponse());

    assertThat(names(cds1)).containsExactly(TestPolicy.BACKEND.envoyName());
    assertThat(names(lds1)).containsExactly(TestPolicy.BACKEND.envoyName());
    assertThat(next.get(CDS).getResourcesList()).isEmpty();
    assertThat(next.get(LDS).getResourcesList()).isEmpty();
    envoy.assertNoResponse();
  }

  @Test
  void rule15_reconnectingEnvoyGetsTheFullStateAgain() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var before = ads.ads("backend");
    before.send(subscribe(BACKEND, LDS));
    DiscoveryResponse accepted = before.awaitResponse();
    before.close();

    var after = ads.ads("backend again");
    // Envoy reports the version it holds and the nonce of the old stream.
    after.send(subscribe(BACKEND, LDS).toBuilder().setVersionInfo(accepted.getVersionInfo())
        .setResponseNonce(accepted.getNonce()).build());

    DiscoveryResponse again = after.awaitResponse();
    assertThat(names(again)).containsExactly(INBOUND, DB.envoyName());
    assertThat(again.getNonce()).isNotEqualTo(accepted.getNonce());
  }

  // ---- rules 22-24: ordering and secret references ----

  @Test
  void rule22_staleClusterIsRemovedOnlyAfterTheListenersThatUsedIt() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");
    envoy.send(subscribe(BACKEND, CDS), subscribe(BACKEND, LDS));
    envoy.send(ack(envoy.awaitResponse()), ack(envoy.awaitResponse()));
    ads.events.awaitAcks(2);

    // db renamed to database on the same port: a new cluster and listener replace the old pair.
    ads.publish(TestPolicy.demo().withoutBackendOutbound(DB).withBackendOutbound(TestPolicy.DATABASE));
    DiscoveryResponse first = envoy.awaitResponse();
    DiscoveryResponse second = envoy.awaitResponse();
    DiscoveryResponse third = envoy.awaitResponse();

    // Make before break: the new cluster first (the old one kept), then the listeners, then the
    // old cluster goes. Removing it first would leave outbound_db pointing at nothing.
    assertThat(List.of(first.getTypeUrl(), second.getTypeUrl(), third.getTypeUrl())).containsExactly(CDS, LDS, CDS);
    assertThat(names(first)).containsExactly(LOCAL_APP, TestPolicy.DATABASE.envoyName(), DB.envoyName());
    assertThat(names(second)).containsExactly(INBOUND, TestPolicy.DATABASE.envoyName());
    assertThat(names(third)).containsExactly(LOCAL_APP, TestPolicy.DATABASE.envoyName());
    envoy.assertNoResponse();
  }

  @Test
  void rule22_clusterRemovedAloneIsOneResponse() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");
    envoy.send(subscribe(BACKEND, CDS), subscribe(BACKEND, LDS));
    envoy.send(ack(envoy.awaitResponse()), ack(envoy.awaitResponse()));
    ads.events.awaitAcks(2);

    ads.publish(TestPolicy.demo().withoutBackendOutbound(DB));

    assertThat(names(envoy.awaitResponse())).as("LDS first: the listener that used the cluster goes")
        .containsExactly(INBOUND);
    assertThat(names(envoy.awaitResponse())).as("then CDS: the cluster goes").containsExactly(LOCAL_APP);
    envoy.assertNoResponse();
  }

  @Test
  void rule22_23_onePushSendsSecretsThenClustersThenListeners() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");
    // Subscribed in the "wrong" order on purpose: the push order must not follow request order.
    envoy.send(subscribe(BACKEND, LDS), subscribe(BACKEND, CDS), subscribe(BACKEND, SDS, "default"));
    List<DiscoveryResponse> initial = List.of(envoy.awaitResponse(), envoy.awaitResponse(), envoy.awaitResponse());
    for (DiscoveryResponse r : initial) {
      envoy.send(r.getTypeUrl().equals(SDS) ? ack(r, "default") : ack(r));
    }
    ads.events.awaitAcks(3);

    // A rotated certificate and a new outbound (new cluster and listener) in one state.
    ads.publish(TestIdentities.backend(), TestPolicy.demo().withBackendOutbound(CACHE));
    List<DiscoveryResponse> push = List.of(envoy.awaitResponse(), envoy.awaitResponse(), envoy.awaitResponse());

    assertThat(push).extracting(DiscoveryResponse::getTypeUrl).containsExactly(SDS, CDS, LDS);
    assertThat(names(push.get(0))).containsExactly("default");
    assertThat(names(push.get(1))).contains(CACHE.envoyName());
    assertThat(names(push.get(2))).contains(CACHE.envoyName());
    envoy.assertNoResponse();
  }

  @Test
  void rule24_sdsSecretConfigsAreByteIdenticalAcrossListenersAndClusters() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var backend = ads.ads("backend");
    var frontend = ads.ads("frontend");
    backend.send(subscribe(BACKEND, CDS), subscribe(BACKEND, LDS));
    frontend.send(subscribe(FRONTEND, CDS), subscribe(FRONTEND, LDS));
    List<DiscoveryResponse> received = new ArrayList<>(List.of(
        backend.awaitResponse(), backend.awaitResponse(), frontend.awaitResponse(), frontend.awaitResponse()));
    for (DiscoveryResponse r : received.subList(0, 2)) {
      backend.send(ack(r));
    }
    ads.events.awaitAcks(2);
    // And across an LDS/CDS update: the references of the new resources must not differ either.
    ads.publish(TestPolicy.demo().withBackendOutbound(CACHE).withBackendAlsoAllowing(OPS_ID));
    received.add(backend.awaitResponse());
    received.add(backend.awaitResponse());

    List<SdsSecretConfig> references = new ArrayList<>();
    Set<String> typesReferencing = new TreeSet<>();
    for (DiscoveryResponse r : received) {
      for (Any resource : r.getResourcesList()) {
        List<SdsSecretConfig> found = ResourceWalker.secretReferences(resource);
        references.addAll(found);
        if (!found.isEmpty()) {
          typesReferencing.add(r.getTypeUrl());
        }
      }
    }
    Map<String, Set<ByteString>> encodings = new TreeMap<>();
    for (SdsSecretConfig ref : references) {
      encodings.computeIfAbsent(ref.getName(), n -> new TreeSet<>(ByteString.unsignedLexicographicalComparator()))
          .add(ref.toByteString());
    }

    // backend: inbound (2 refs), outbound_db and outbound_cache clusters (2 each), twice for the
    // unchanged ones; frontend: outbound_backend cluster (2).
    assertThat(references).as("secret references in the listeners and clusters received").hasSizeGreaterThanOrEqualTo(8);
    assertThat(typesReferencing).containsExactlyInAnyOrder(LDS, CDS);
    assertThat(encodings).containsOnlyKeys("default", "ROOTCA");
    encodings.forEach((name, bytes) -> assertThat(bytes).as("encodings of the reference to %s", name).hasSize(1));
    assertThat(references).extracting(SdsSecretConfig::getSdsConfig).containsOnly(
        SdsSecretConfigs.overAds(SecretNaming.SPIRE_DEFAULTS).configSource());
  }

  /** Responses by type; fails if two have the same type. (Their order is rule 22's business.) */
  private static Map<String, DiscoveryResponse> byType(DiscoveryResponse... responses) {
    Map<String, DiscoveryResponse> m = new TreeMap<>();
    for (DiscoveryResponse r : responses) {
      assertThat(m.put(r.getTypeUrl(), r)).as("a second response of type %s", r.getTypeUrl()).isNull();
    }
    return m;
  }
}
