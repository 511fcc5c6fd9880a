package dev.rotor.sds.conformance;

import static dev.rotor.sds.conformance.TestIdentities.OWN_BUNDLE;
import static dev.rotor.sds.conformance.TestIdentities.PARTNER_BUNDLE;
import static dev.rotor.sds.conformance.TestIdentities.WORKLOAD;
import static dev.rotor.sds.conformance.TestIdentities.federated;
import static dev.rotor.sds.conformance.TestIdentities.ownOnly;
import static dev.rotor.sds.conformance.TestIdentities.workloadSvid;
import static dev.rotor.sds.conformance.Wire.deltaAck;
import static dev.rotor.sds.conformance.Wire.deltaNack;
import static dev.rotor.sds.conformance.Wire.deltaNext;
import static dev.rotor.sds.conformance.Wire.deltaSubscribe;
import static dev.rotor.sds.conformance.Wire.names;
import static dev.rotor.sds.conformance.Wire.resource;
import static dev.rotor.sds.conformance.Wire.secret;
import static dev.rotor.sds.conformance.Wire.usesTrustedCa;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Value;
import dev.rotor.identity.Svid;
import dev.rotor.sds.ValidationForms;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.SecretNaming;
import dev.rotor.xds.secret.ValidationForm;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Incremental SDS ({@code DeltaSecrets}) against {@code shared/reference/xds-protocol.md}, rules
 * 16-21 in particular. SPIRE's agent has no delta SDS at all (spire#3778).
 */
class DeltaSdsConformanceTest {

  private final SdsHarness sds = new SdsHarness();
  private final Svid svid = workloadSvid();

  @AfterEach
  void stop() throws InterruptedException {
    sds.close();
  }

  @Test
  void rule02_nodeOfTheFirstRequestAppliesToTheWholeStream() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    var disabled = Wire.nodeWithMetadata(ValidationForms.METADATA_KEY, Value.newBuilder().setStringValue("true").build());

    peer.send(deltaSubscribe("ROOTCA").toBuilder().setNode(disabled).build());
    DeltaDiscoveryResponse r1 = peer.awaitResponse();
    peer.send(deltaNext(r1).addResourceNamesSubscribe(PARTNER_BUNDLE).build()); // no node

    DeltaDiscoveryResponse r2 = peer.awaitResponse();
    assertThat(usesTrustedCa(secret(resource(r1, "ROOTCA").getResource()))).isTrue();
    assertThat(usesTrustedCa(secret(resource(r2, PARTNER_BUNDLE).getResource()))).isTrue();
  }

  @Test
  void rule04_subscriptionChangesOfAStaleNonceRequestAreStillApplied() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe(WORKLOAD));
    DeltaDiscoveryResponse r1 = peer.awaitResponse();
    sds.publish(federated(workloadSvid()));
    peer.awaitResponse(); // r2: r1's nonce is stale from now on

    peer.send(deltaNext(r1).addResourceNamesSubscribe("ROOTCA").build());

    assertThat(names(peer.awaitResponse())).containsExactly("ROOTCA");
  }

  @Test
  void rule12_wildcardNeverReturnsMoreThanTheCallerHolds() {
    sds.publish(federated(svid));
    var legacy = sds.delta();
    var star = sds.delta();

    legacy.send(deltaSubscribe());
    star.send(deltaSubscribe("*"));

    assertThat(names(legacy.awaitResponse())).containsExactlyInAnyOrder(OWN_BUNDLE, PARTNER_BUNDLE, WORKLOAD);
    assertThat(names(star.awaitResponse())).containsExactlyInAnyOrder(OWN_BUNDLE, PARTNER_BUNDLE, WORKLOAD);
  }

  @Test
  void rule14_unknownNameIsPushedWhenItAppears() {
    sds.publish(ownOnly(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe(PARTNER_BUNDLE));
    peer.send(deltaAck(peer.awaitResponse()));

    sds.publish(federated(svid));

    DeltaDiscoveryResponse r = peer.awaitResponse();
    assertThat(names(r)).containsExactly(PARTNER_BUNDLE);
    assertThat(r.getRemovedResourcesList()).isEmpty();
  }

  @Test
  void rule16_onlyChangedResourcesAreSentEachWithItsOwnVersion() {
    SecretCatalog before = sds.publish(federated(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe(WORKLOAD, "ROOTCA"));
    DeltaDiscoveryResponse r1 = peer.awaitResponse();
    assertThat(names(r1)).containsExactlyInAnyOrder(WORKLOAD, "ROOTCA");
    assertThat(resource(r1, WORKLOAD).getVersion()).isEqualTo(version(before, WORKLOAD));
    assertThat(resource(r1, "ROOTCA").getVersion()).isEqualTo(version(before, "ROOTCA"));
    peer.send(deltaAck(r1));

    SecretCatalog after = sds.publish(federated(workloadSvid()));

    DeltaDiscoveryResponse r2 = peer.awaitResponse();
    assertThat(names(r2)).containsExactly(WORKLOAD);
    assertThat(resource(r2, WORKLOAD).getVersion()).isEqualTo(version(after, WORKLOAD))
        .isNotEqualTo(resource(r1, WORKLOAD).getVersion());
    assertThat(r2.getRemovedResourcesList()).isEmpty();
  }

  @Test
  void rule16_deletedSecretGoesInRemovedResources() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe(PARTNER_BUNDLE, "ROOTCA"));
    peer.send(deltaAck(peer.awaitResponse()));

    sds.publish(ownOnly(svid)); // federation with partner.test ends

    DeltaDiscoveryResponse r = peer.awaitResponse();
    assertThat(r.getResourcesList()).isEmpty();
    assertThat(r.getRemovedResourcesList()).containsExactly(PARTNER_BUNDLE);
  }

  @Test
  void rule17_subscribedNameIsSentEvenIfTheClientShouldHaveIt() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe("ROOTCA"));
    DeltaDiscoveryResponse r1 = peer.awaitResponse();

    peer.send(deltaNext(r1).addResourceNamesSubscribe("ROOTCA").build());

    DeltaDiscoveryResponse r2 = peer.awaitResponse();
    assertThat(names(r2)).containsExactly("ROOTCA");
    assertThat(resource(r2, "ROOTCA").getVersion()).isEqualTo(resource(r1, "ROOTCA").getVersion());
  }

  @Test
  void rule18_unsubscribingANameNeverHeldIsIgnored() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe("ROOTCA"));
    DeltaDiscoveryResponse r1 = peer.awaitResponse();

    peer.send(deltaNext(r1).addResourceNamesUnsubscribe("spiffe://nowhere.test").build());

    peer.assertNoResponse();
    peer.send(deltaNext(r1).addResourceNamesSubscribe(WORKLOAD).build());
    assertThat(names(peer.awaitResponse())).containsExactly(WORKLOAD);
  }

  @Test
  void rule18_unsubscribedNameIsNoLongerPushed() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe(WORKLOAD, "ROOTCA"));
    DeltaDiscoveryResponse r1 = peer.awaitResponse();
    peer.send(deltaNext(r1).addResourceNamesUnsubscribe(WORKLOAD).build());
    peer.assertNoResponse();

    sds.publish(federated(workloadSvid()));

    peer.assertNoResponse();
  }

  @Test
  void rule19_subscribedNameThatDoesNotExistIsReportedInRemovedResources() {
    sds.publish(federated(svid));
    var peer = sds.delta();

    peer.send(deltaSubscribe("ROOTCA", "spiffe://nowhere.test"));

    DeltaDiscoveryResponse r = peer.awaitResponse();
    assertThat(names(r)).containsExactly("ROOTCA");
    assertThat(r.getRemovedResourcesList()).containsExactly("spiffe://nowhere.test");
    peer.send(deltaAck(r));
    peer.assertNoResponse(); // reported once, not on every flush
  }

  @Test
  void rule20_initialResourceVersionsThatMatchAreNotResent() {
    SecretCatalog catalog = sds.publish(federated(svid));
    var peer = sds.delta();

    peer.send(deltaSubscribe(WORKLOAD, "ROOTCA").toBuilder()
        .putInitialResourceVersions(WORKLOAD, version(catalog, WORKLOAD))
        .putInitialResourceVersions("ROOTCA", version(catalog, "ROOTCA")).build());

    peer.assertNoResponse();
    sds.publish(federated(workloadSvid()));
    assertThat(names(peer.awaitResponse())).containsExactly(WORKLOAD);
  }

  @Test
  void rule20_initialResourceVersionsThatDifferAreResent() {
    SecretCatalog catalog = sds.publish(federated(svid));
    var peer = sds.delta();

    peer.send(deltaSubscribe(WORKLOAD, "ROOTCA").toBuilder()
        .putInitialResourceVersions(WORKLOAD, "version-of-a-certificate-since-rotated")
        .putInitialResourceVersions("ROOTCA", version(catalog, "ROOTCA")).build());

    DeltaDiscoveryResponse r = peer.awaitResponse();
    assertThat(names(r)).containsExactly(WORKLOAD);
    assertThat(r.getRemovedResourcesList()).isEmpty();
  }

  @Test
  void rule20_initialResourceThatNoLongerExistsIsReportedRemoved() {
    SecretCatalog federatedCatalog = SecretCatalog.build(federated(svid), SecretNaming.SPIRE_DEFAULTS);
    sds.publish(ownOnly(svid));
    var peer = sds.delta();

    peer.send(deltaSubscribe(PARTNER_BUNDLE).toBuilder()
        .putInitialResourceVersions(PARTNER_BUNDLE, version(federatedCatalog, PARTNER_BUNDLE)).build());

    assertThat(peer.awaitResponse().getRemovedResourcesList()).containsExactly(PARTNER_BUNDLE);
  }

  @Test
  void rule21_everyResponseCarriesAFreshNonce() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    List<String> nonces = new ArrayList<>();
    peer.send(deltaSubscribe(WORKLOAD));
    DeltaDiscoveryResponse r = peer.awaitResponse();
    nonces.add(r.getNonce());
    peer.send(deltaNext(r).addResourceNamesSubscribe("ROOTCA").build());
    nonces.add(peer.awaitResponse().getNonce());
    sds.publish(federated(workloadSvid()));
    nonces.add(peer.awaitResponse().getNonce());

    assertThat(nonces).doesNotContain("").doesNotHaveDuplicates();
  }

  @Test
  void rule21_ackIsNotAnswered() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe(WORKLOAD));
    DeltaDiscoveryResponse r = peer.awaitResponse();

    peer.send(deltaAck(r));

    assertThat(sds.events.awaitAck().nonce()).isEqualTo(r.getNonce());
    peer.assertNoResponse();
  }

  @Test
  void rule21_nackIsNotAnsweredWithTheSameVersion() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe(WORKLOAD));
    DeltaDiscoveryResponse r1 = peer.awaitResponse();

    peer.send(deltaNack(r1));

    assertThat(sds.events.awaitNack().nonce()).isEqualTo(r1.getNonce());
    peer.assertNoResponse();
    sds.publish(federated(workloadSvid()));
    DeltaDiscoveryResponse r2 = peer.awaitResponse();
    assertThat(resource(r2, WORKLOAD).getVersion()).isNotEqualTo(resource(r1, WORKLOAD).getVersion());
  }

  @Test
  void rule26_eachResourceIsTheSecretNamedAsRequested() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    List<String> all = List.of("default", WORKLOAD, "ROOTCA", OWN_BUNDLE, PARTNER_BUNDLE, "ALL");

    peer.send(deltaSubscribe(all.toArray(String[]::new)));

    DeltaDiscoveryResponse r = peer.awaitResponse();
    assertThat(names(r)).containsExactlyInAnyOrderElementsOf(all);
    for (Resource res : r.getResourcesList()) {
      assertThat(secret(res.getResource()).getName()).isEqualTo(res.getName());
    }
  }

  @Test
  void rule28_identicalContentIsNeverPushedTwice() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    peer.send(deltaSubscribe(WORKLOAD, "ALL"));
    peer.send(deltaAck(peer.awaitResponse()));

    sds.publish(federated(svid));

    peer.assertNoResponse();
  }

  @Test
  void aliasesOnOneStreamAllWork() {
    sds.publish(federated(svid));
    var peer = sds.delta();
    String[] names = {"ROOTCA", OWN_BUNDLE, "default", WORKLOAD};
    peer.send(deltaSubscribe(names));
    DeltaDiscoveryResponse r1 = peer.awaitResponse();
    assertThat(names(r1)).containsExactlyInAnyOrder(names);
    peer.send(deltaAck(r1));

    sds.publish(federated(workloadSvid()));

    DeltaDiscoveryResponse r2 = peer.awaitResponse();
    assertThat(names(r2)).containsExactlyInAnyOrder("default", WORKLOAD);
    peer.send(deltaAck(r2));
    peer.assertNoResponse();
  }

  private static String version(SecretCatalog catalog, String name) {
    return catalog.get(name, ValidationForm.SPIFFE_VALIDATOR).orElseThrow().version();
  }
}
