package dev.rotor.it.spire;

import static dev.rotor.it.SecretMaterial.chain;
import static dev.rotor.testkit.KeyPairs.matches;
import static dev.rotor.it.SecretMaterial.leaf;
import static dev.rotor.it.SecretMaterial.privateKey;
import static dev.rotor.it.SecretMaterial.secret;
import static dev.rotor.it.SecretMaterial.spiffeId;
import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.it.SdsTestClient.SecretStream;
import dev.rotor.it.SdsTestClient;
import dev.rotor.it.SecretMaterial;
import dev.rotor.testkit.spire.SpireFixture;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.net.URI;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The SPIRE fixture works: entries become SVIDs, served by the agent's own SDS, across restarts. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SpireFixtureIT {
  private static final String WORKLOAD_ID = SpireFixture.TRUST_DOMAIN_ID + "/fixture-it/workload";
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @RegisterExtension static final SpireFixture spire = new SpireFixture();

  @BeforeAll
  static void registerThisProcess() {
    spire.createEntry(WORKLOAD_ID, SpireFixture.currentUidSelectors(), Duration.ofSeconds(60));
    spire.awaitSvidIssued(WORKLOAD_ID);
  }

  @Test
  @Order(1)
  void agentSds_servesDefaultCertificateWithTheRegisteredSpiffeId() {
    try (SdsTestClient client = SdsTestClient.connect(spire.agentSocket());
        SecretStream stream = client.streamSecrets(SdsTestClient.node("fixture-it"), List.of("default"))) {
      DiscoveryResponse response = stream.awaitResponses(1, TIMEOUT).response();

      Secret secret = secret(response, "default");
      X509Certificate leaf = leaf(secret);
      assertThat(spiffeId(leaf)).isEqualTo(URI.create(WORKLOAD_ID));
      assertThat(matches(privateKey(secret, leaf), leaf))
          .as("the private key of %s matches its certificate", SecretMaterial.id(leaf))
          .isTrue();
    }
  }

  @Test
  @Order(2)
  void agentSds_fetchSecretsServesTheSameIdentityAndTheBundle() {
    try (SdsTestClient client = SdsTestClient.connect(spire.agentSocket())) {
      DiscoveryResponse svid = client.fetchSecrets(SdsTestClient.node("fixture-it"), List.of("default"), TIMEOUT);
      DiscoveryResponse bundle = client.fetchSecrets(SdsTestClient.node("fixture-it"), List.of("ROOTCA"), TIMEOUT);

      List<X509Certificate> chain = chain(secret(svid, "default"));
      SecretMaterial.verifyChain(chain,
          SecretMaterial.anchors(secret(bundle, "ROOTCA"), SpireFixture.TRUST_DOMAIN),
          Instant.now());
    }
  }

  @Test
  @Order(3)
  void agentRestart_resumesFromItsDataDirWithoutANewToken() {
    spire.stopAgent();
    assertThat(spire.isAgentRunning()).isFalse();

    spire.startAgent();

    spire.awaitSvidIssued(WORKLOAD_ID);
  }
}
