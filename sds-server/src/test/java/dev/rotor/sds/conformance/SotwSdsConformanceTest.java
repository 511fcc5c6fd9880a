package dev.rotor.sds.conformance;

import static dev.rotor.sds.conformance.TestIdentities.OWN_BUNDLE;
import static dev.rotor.sds.conformance.TestIdentities.PARTNER_BUNDLE;
import static dev.rotor.sds.conformance.TestIdentities.WORKLOAD;
import static dev.rotor.sds.conformance.TestIdentities.federated;
import static dev.rotor.sds.conformance.TestIdentities.ownOnly;
import static dev.rotor.sds.conformance.TestIdentities.workloadSvid;
import static dev.rotor.sds.conformance.Wire.ack;
import static dev.rotor.sds.conformance.Wire.nack;
import static dev.rotor.sds.conformance.Wire.names;
import static dev.rotor.sds.conformance.Wire.secret;
import static dev.rotor.sds.conformance.Wire.subscribe;
import static dev.rotor.sds.conformance.Wire.usesTrustedCa;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Value;
import dev.rotor.identity.Svid;
import dev.rotor.sds.ValidationForms;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.ValidationForm;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * State-of-the-world SDS ({@code StreamSecrets}) against {@code shared/reference/xds-protocol.md}.
 * Each test is named by the rule it proves.
 */
class SotwSdsConformanceTest {

  private final SdsHarness sds = new SdsHarness();
  private final Svid svid = workloadSvid();

  @AfterEach
  void stop() throws InterruptedException {
    sds.close();
  }

  // ---- streams and nonces ----

  @Test
  void rule01_everyResponseCarriesANonceThatIsNeverReusedOnAnyStream() {
    sds.publish(federated(svid));
    var a = sds.sotw();
    var b = sds.sotw();
    List<String> nonces = new ArrayList<>();

    a.send(subscribe(WORKLOAD));
    b.send(subscribe(WORKLOAD));
    DiscoveryResponse a1 = a.awaitResponse();
    DiscoveryResponse b1 = b.awaitResponse();
    a.send(ack(a1, WORKLOAD, "ROOTCA"));
    DiscoveryResponse a2 = a.awaitResponse();
    sds.publish(federated(workloadSvid()));
    DiscoveryResponse a3 = a.awaitResponse();
    DiscoveryResponse b2 = b.awaitResponse();
    Stream.of(a1, a2, a3, b1, b2).forEach(r -> nonces.add(r.getNonce()));

    assertThat(nonces).doesNotContain("").doesNotHaveDuplicates();
  }

  @Test
  void rule01_noncesDoNotSurviveAReconnect() {
    sds.publish(federated(svid));
    var first = sds.sotw();
    first.send(subscribe(WORKLOAD));
    DiscoveryResponse before = first.awaitResponse();
    first.close();

    var second = sds.sotw();
    second.send(subscribe(WORKLOAD));
    DiscoveryResponse after = second.awaitResponse();

    assertThat(after.getNonce()).isNotEmpty().isNotEqualTo(before.getNonce());
  }

  @Test
  void rule02_nodeOfTheFirstRequestAppliesToTheWholeStream() throws Exception {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    Node disabled = Wire.nodeWithMetadata(ValidationForms.METADATA_KEY, Value.newBuilder().setBoolValue(true).build());

    peer.send(subscribe(disabled, "ROOTCA"));
    DiscoveryResponse r1 = peer.awaitResponse();
    // Envoy with set_node_on_first_message_only: later requests carry no node.
    peer.send(ack(r1, "ROOTCA", OWN_BUNDLE));
    DiscoveryResponse r2 = peer.awaitResponse();

    assertThat(usesTrustedCa(secret(r1, "ROOTCA"))).isTrue();
    assertThat(usesTrustedCa(secret(r2, OWN_BUNDLE)))
        .as("the node's disable_spiffe_cert_validation still applies to a request without node").isTrue();
    assertThat(sds.events.awaitAck().node()).isEqualTo(Wire.NODE.getId());
  }

  @Test
  void rule03_anyNonceAcceptedBeforeFirstResponse() {
    sds.publish(federated(svid));
    var peer = sds.sotw();

    // Envoy reconnecting after a server restart sends the nonce and version of the old server.
    peer.send(subscribe(WORKLOAD).toBuilder().setVersionInfo("0123456789abcdef")
        .setResponseNonce("nonce-of-a-previous-server").build());

    assertThat(names(peer.awaitResponse())).containsExactly(WORKLOAD);
  }

  @Test
  void rule03_staleNonceIsIgnored() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r1 = peer.awaitResponse();
    peer.send(ack(r1, WORKLOAD));
    sds.events.awaitAck();
    sds.publish(federated(workloadSvid()));
    DiscoveryResponse r2 = peer.awaitResponse();

    // Answers r1, which r2 superseded: its subscription change must not be applied.
    peer.send(ack(r1, WORKLOAD, "ROOTCA"));

    assertThat(sds.events.awaitStaleNonce()).isEqualTo(r1.getNonce());
    peer.assertNoResponse();
    peer.send(ack(r2, WORKLOAD, "ROOTCA"));
    assertThat(names(peer.awaitResponse())).containsExactly("ROOTCA");
  }

  @Test
  void rule05_typeUrlIsImplicitOnTheSdsService() {
    sds.publish(federated(svid));
    var peer = sds.sotw();

    peer.send(subscribe(WORKLOAD).toBuilder().clearTypeUrl().build());

    DiscoveryResponse r = peer.awaitResponse();
    assertThat(r.getTypeUrl()).isEqualTo(TypeUrls.SECRET);
    assertThat(names(r)).containsExactly(WORKLOAD);
  }

  // ---- ACK and NACK ----

  @Test
  void rule06_ackIsNotAnswered() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r = peer.awaitResponse();

    peer.send(ack(r, WORKLOAD));

    assertThat(sds.events.awaitAck().nonce()).isEqualTo(r.getNonce());
    peer.assertNoResponse();
  }

  @Test
  void rule07_nackIsNotAnsweredWithTheSameVersion() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse accepted = peer.awaitResponse();
    peer.send(ack(accepted, WORKLOAD));
    Svid rotated = workloadSvid();
    sds.publish(federated(rotated));
    DiscoveryResponse rejected = peer.awaitResponse();

    peer.send(nack(rejected, accepted.getVersionInfo(), WORKLOAD));

    assertThat(sds.events.awaitNack().errorDetail()).contains("Unexpected SDS secret");
    peer.assertNoResponse();
    // An unrelated change (the federated bundle goes away) is not a reason to re-send it either.
    sds.publish(ownOnly(rotated));
    peer.assertNoResponse();
  }

  @Test
  void rule07_nextRealChangeAfterANackIsSent() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r1 = peer.awaitResponse();
    peer.send(nack(r1, "", WORKLOAD));
    sds.events.awaitNack();

    sds.publish(federated(workloadSvid()));

    DiscoveryResponse r2 = peer.awaitResponse();
    assertThat(r2.getVersionInfo()).isNotEqualTo(r1.getVersionInfo());
    assertThat(names(r2)).containsExactly(WORKLOAD);
  }

  @Test
  void rule07_nackIsDetectedByErrorDetailNotByVersion() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r1 = peer.awaitResponse();

    // A client that echoes the version it rejects: same version as the response, yet a NACK.
    peer.send(nack(r1, r1.getVersionInfo(), WORKLOAD));

    RecordingEvents.Reply nack = sds.events.awaitNack();
    assertThat(nack.nonce()).isEqualTo(r1.getNonce());
    assertThat(nack.version()).isEqualTo(r1.getVersionInfo());
    assertThat(sds.events.acks).isEmpty();
    peer.assertNoResponse();
  }

  @Test
  void rule07_ackWithAnOlderVersionIsStillAnAck() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r1 = peer.awaitResponse();

    peer.send(DiscoveryRequest.newBuilder(ack(r1, WORKLOAD)).setVersionInfo("some-older-version").build());

    assertThat(sds.events.awaitAck().nonce()).isEqualTo(r1.getNonce());
    assertThat(sds.events.nacks).isEmpty();
    peer.assertNoResponse();
  }

  @Test
  void rule08_oneResponsePerRealChange() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    peer.send(ack(peer.awaitResponse(), WORKLOAD));

    sds.publish(federated(workloadSvid()));

    DiscoveryResponse r = peer.awaitResponse();
    assertThat(names(r)).containsExactly(WORKLOAD);
    peer.send(ack(r, WORKLOAD));
    peer.assertNoResponse();
  }

  @Test
  void rule08_aChangeToAnotherSecretIsNotSent() {
    sds.publish(federated(svid));
    var bundle = sds.sotw();
    bundle.send(subscribe("ROOTCA"));
    bundle.send(ack(bundle.awaitResponse(), "ROOTCA"));

    sds.publish(federated(workloadSvid())); // the certificate rotates; the bundle does not

    bundle.assertNoResponse();
  }

  @Test
  void rule09_noDuplicateNamesInAResponse() {
    sds.publish(federated(svid));
    var peer = sds.sotw();

    peer.send(subscribe(WORKLOAD, "ROOTCA", WORKLOAD, "ROOTCA"));

    assertThat(names(peer.awaitResponse())).containsExactlyInAnyOrder(WORKLOAD, "ROOTCA");
  }

  // ---- subscriptions ----

  @Test
  void rule10_onlyRequestedSecretsThatExistAreSent() {
    sds.publish(federated(svid));
    var peer = sds.sotw();

    peer.send(subscribe("ROOTCA", "spiffe://nowhere.test"));

    DiscoveryResponse r = peer.awaitResponse();
    assertThat(names(r)).containsExactly("ROOTCA");
    peer.send(ack(r, "ROOTCA", "spiffe://nowhere.test"));
    peer.assertNoResponse();
  }

  @Test
  void rule11_newlyRequestedNameIsAnsweredAtOnce() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r1 = peer.awaitResponse();

    peer.send(ack(r1, WORKLOAD, "ROOTCA"));

    assertThat(names(peer.awaitResponse())).contains("ROOTCA");
  }

  @Test
  void rule11_resubscribeGetsAnImmediateAnswer() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe("ROOTCA"));
    DiscoveryResponse r1 = peer.awaitResponse();
    peer.send(ack(r1)); // unsubscribe all
    peer.assertNoResponse();

    peer.send(ack(r1, "ROOTCA"));

    DiscoveryResponse r2 = peer.awaitResponse();
    assertThat(names(r2)).containsExactly("ROOTCA");
    assertThat(r2.getVersionInfo()).as("unchanged content, same version").isEqualTo(r1.getVersionInfo());
    assertThat(r2.getNonce()).isNotEqualTo(r1.getNonce());
  }

  @Test
  void rule11_nameDroppedAndAddedAgainIsAnsweredAgain() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD, "ROOTCA"));
    DiscoveryResponse r1 = peer.awaitResponse();
    peer.send(ack(r1, WORKLOAD));
    peer.assertNoResponse();

    peer.send(ack(r1, WORKLOAD, "ROOTCA"));

    assertThat(names(peer.awaitResponse())).containsExactly("ROOTCA");
  }

  @Test
  void rule12_emptyListAfterExplicitSubscriptionUnsubscribesAll() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r1 = peer.awaitResponse();

    peer.send(ack(r1));

    peer.assertNoResponse();
    sds.publish(federated(workloadSvid()));
    peer.assertNoResponse();
  }

  @Test
  void rule12_wildcardNeverReturnsMoreThanTheCallerHolds() {
    sds.publish(federated(svid));
    var legacy = sds.sotw();
    var star = sds.sotw();

    legacy.send(subscribe());
    star.send(subscribe("*"));

    // Each bundle by its trust domain and each SVID by its SPIFFE ID; no alias, nothing else.
    assertThat(names(legacy.awaitResponse())).containsExactlyInAnyOrder(OWN_BUNDLE, PARTNER_BUNDLE, WORKLOAD);
    assertThat(names(star.awaitResponse())).containsExactlyInAnyOrder(OWN_BUNDLE, PARTNER_BUNDLE, WORKLOAD);
  }

  @Test
  void rule12_wildcardFollowsTheIdentityButNeverGrows() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe());
    peer.send(ack(peer.awaitResponse()));

    sds.publish(ownOnly(svid)); // the partner bundle goes away

    assertThat(names(peer.awaitResponse())).containsExactlyInAnyOrder(OWN_BUNDLE, WORKLOAD);
  }

  @Test
  void rule14_unknownNameIsPushedWhenItAppears() {
    sds.publish(ownOnly(svid));
    var peer = sds.sotw();

    peer.send(subscribe(PARTNER_BUNDLE));
    peer.assertNoResponse(); // and the stream stays open, unlike SPIRE's agent (spire#3325)

    sds.publish(federated(svid));
    assertThat(names(peer.awaitResponse())).containsExactly(PARTNER_BUNDLE);
  }

  @Test
  void rule14_secretsRequestedBeforeTheFirstIdentityArePushedWhenItArrives() {
    var peer = sds.sotw();
    peer.send(subscribe("default", "ROOTCA"));
    peer.assertNoResponse();

    sds.publish(ownOnly(svid));

    assertThat(names(peer.awaitResponse())).containsExactlyInAnyOrder("default", "ROOTCA");
  }

  @Test
  void rule15_reconnectWithTheLastVersionIsAnsweredAgain() {
    sds.publish(federated(svid));
    var first = sds.sotw();
    first.send(subscribe(WORKLOAD));
    DiscoveryResponse before = first.awaitResponse();
    first.close();

    var second = sds.sotw();
    second.send(subscribe(WORKLOAD).toBuilder().setVersionInfo(before.getVersionInfo())
        .setResponseNonce(before.getNonce()).build());

    DiscoveryResponse after = second.awaitResponse();
    assertThat(after.getVersionInfo()).isEqualTo(before.getVersionInfo());
    assertThat(names(after)).containsExactly(WORKLOAD);
  }

  // ---- SDS content ----

  @Test
  void rule26_exactlyOneSecretPerResponseNamedAsRequested() {
    sds.publish(federated(svid));
    List<String> all = List.of("default", WORKLOAD, "ROOTCA", OWN_BUNDLE, PARTNER_BUNDLE, "ALL");
    List<SdsTestPeer<DiscoveryRequest, DiscoveryResponse>> streams = new ArrayList<>();
    for (String name : all) { // Envoy opens one SDS stream per secret name
      var peer = sds.sotw();
      peer.send(subscribe(name));
      streams.add(peer);
    }
    for (int i = 0; i < all.size(); i++) {
      DiscoveryResponse r = streams.get(i).awaitResponse();
      assertThat(names(r)).as("stream for %s", all.get(i)).containsExactly(all.get(i));
      streams.get(i).send(ack(r, all.get(i)));
    }

    sds.publish(federated(workloadSvid()));

    for (int i = 0; i < all.size(); i++) {
      String name = all.get(i);
      if (name.equals("default") || name.equals(WORKLOAD)) {
        assertThat(names(streams.get(i).awaitResponse())).as("stream for %s", name).containsExactly(name);
      } else {
        streams.get(i).assertNoResponse();
      }
    }
  }

  @Test
  void rule28_identicalContentIsNeverPushedTwice() {
    sds.publish(federated(svid));
    var cert = sds.sotw();
    var bundle = sds.sotw();
    cert.send(subscribe(WORKLOAD));
    bundle.send(subscribe("ALL"));
    cert.send(ack(cert.awaitResponse(), WORKLOAD));
    bundle.send(ack(bundle.awaitResponse(), "ALL"));

    // The same identities again (a new catalog, a new generation): nothing to push.
    sds.publish(federated(svid));

    cert.assertNoResponse();
    bundle.assertNoResponse();
  }

  @Test
  void rule28_secretThatGoesAwayAndReturnsUnchangedIsNotPushedAgain() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(PARTNER_BUNDLE, "ALL"));
    peer.send(ack(peer.awaitResponse(), PARTNER_BUNDLE, "ALL"));

    // SotW cannot tell the client that a secret went away, so the client keeps the one it has
    // (ALL, which changes with it, shows the stream saw the change)...
    sds.publish(ownOnly(svid));
    DiscoveryResponse without = peer.awaitResponse();
    assertThat(names(without)).containsExactly("ALL");
    peer.send(ack(without, PARTNER_BUNDLE, "ALL"));
    // ...and when the same bundle comes back, the client already holds exactly that content.
    sds.publish(federated(svid));

    assertThat(names(peer.awaitResponse())).containsExactly("ALL");
  }

  @Test
  void rule07_rejectedSecretThatGoesAwayAndReturnsUnchangedIsNotPushedAgain() {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(PARTNER_BUNDLE, "ALL"));
    DiscoveryResponse rejected = peer.awaitResponse();
    peer.send(nack(rejected, "", PARTNER_BUNDLE, "ALL"));
    sds.events.awaitNack();
    sds.publish(ownOnly(svid));
    DiscoveryResponse without = peer.awaitResponse();
    peer.send(ack(without, PARTNER_BUNDLE, "ALL"));

    sds.publish(federated(svid));

    assertThat(names(peer.awaitResponse())).as("only a real change is sent after a NACK").containsExactly("ALL");
  }

  @Test
  void rule29_validationContextUsesTheSpiffeValidatorWithBareTrustDomainNames() throws Exception {
    sds.publish(federated(svid));
    var peer = sds.sotw();

    peer.send(subscribe("ALL"));

    Secret all = secret(peer.awaitResponse(), "ALL");
    assertThat(all.getValidationContext().getCustomValidatorConfig().getName())
        .isEqualTo("envoy.tls.cert_validator.spiffe");
    SPIFFECertValidatorConfig spiffe = all.getValidationContext().getCustomValidatorConfig().getTypedConfig()
        .unpack(SPIFFECertValidatorConfig.class);
    assertThat(spiffe.getTrustDomainsList()).extracting(SPIFFECertValidatorConfig.TrustDomain::getName)
        .containsExactly("example.org", "partner.test");
  }

  @Test
  void aliasesOnOneStreamAllWork() throws Exception {
    sds.publish(federated(svid));
    var peer = sds.sotw();
    String[] names = {"ROOTCA", OWN_BUNDLE, "default", WORKLOAD};

    peer.send(subscribe(names));
    DiscoveryResponse r1 = peer.awaitResponse();
    assertThat(names(r1)).containsExactlyInAnyOrder(names);
    peer.send(ack(r1, names));

    Svid rotated = workloadSvid();
    sds.publish(federated(rotated));
    DiscoveryResponse r2 = peer.awaitResponse();
    assertThat(names(r2)).containsExactlyInAnyOrder("default", WORKLOAD);
    assertThat(leaf(secret(r2, "default"))).isEqualTo(rotated.leaf());
    assertThat(leaf(secret(r2, WORKLOAD))).isEqualTo(rotated.leaf());
    peer.send(ack(r2, names));
    peer.assertNoResponse(); // still open, nothing more to say (SPIRE's agent fails this stream)
  }

  // ---- validation form chosen per Envoy ----

  static Stream<Arguments> trustedCaNodes() {
    return Stream.of(
        Arguments.of("metadata bool true",
            Wire.nodeWithMetadata(ValidationForms.METADATA_KEY, Value.newBuilder().setBoolValue(true).build())),
        Arguments.of("metadata string \"true\"",
            Wire.nodeWithMetadata(ValidationForms.METADATA_KEY, Value.newBuilder().setStringValue("true").build())),
        Arguments.of("Envoy 1.17", Wire.envoyNode(1, 17)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("trustedCaNodes")
  void envoyThatCannotUseTheSpiffeValidatorGetsTrustedCa(String why, Node node) {
    sds.publish(federated(svid));
    var peer = sds.sotw();

    peer.send(subscribe(node, "ROOTCA", PARTNER_BUNDLE));

    DiscoveryResponse r = peer.awaitResponse();
    assertThat(usesTrustedCa(secret(r, "ROOTCA"))).isTrue();
    assertThat(usesTrustedCa(secret(r, PARTNER_BUNDLE))).isTrue();
  }

  @Test
  void envoy118AndMetadataFalseGetTheSpiffeValidator() {
    sds.publish(federated(svid));
    var newer = sds.sotw();
    var notDisabled = sds.sotw();

    newer.send(subscribe(Wire.envoyNode(1, 18), "ROOTCA"));
    notDisabled.send(subscribe(Wire.nodeWithMetadata(ValidationForms.METADATA_KEY,
        Value.newBuilder().setStringValue("false").build()), "ROOTCA"));

    assertThat(usesTrustedCa(secret(newer.awaitResponse(), "ROOTCA"))).isFalse();
    assertThat(usesTrustedCa(secret(notDisabled.awaitResponse(), "ROOTCA"))).isFalse();
  }

  @Test
  void trustedCaEnvoyIsNeverServedTheAllBundlesSecret() {
    SecretCatalog catalog = sds.publish(federated(svid));
    var peer = sds.sotw();

    peer.send(subscribe(Wire.envoyNode(1, 17), "ALL"));

    peer.assertNoResponse();
    assertThat(catalog.get("ALL", ValidationForm.TRUSTED_CA)).isEmpty();
  }

  private static X509Certificate leaf(Secret s) throws Exception {
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificates(
        new ByteArrayInputStream(s.getTlsCertificate().getCertificateChain().getInlineBytes().toByteArray()))
        .iterator().next();
  }
}
