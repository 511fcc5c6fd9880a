package dev.rotor.it;

import static dev.rotor.it.SecretMaterial.anchors;
import static dev.rotor.it.SecretMaterial.chain;
import static dev.rotor.it.SecretMaterial.id;
import static dev.rotor.it.SecretMaterial.ids;
import static dev.rotor.testkit.KeyPairs.matches;
import static dev.rotor.it.SecretMaterial.names;
import static dev.rotor.it.SecretMaterial.privateKey;
import static dev.rotor.it.SecretMaterial.secret;
import static dev.rotor.it.SecretMaterial.secrets;
import static dev.rotor.it.SecretMaterial.spiffeId;
import static dev.rotor.it.SecretMaterial.validationContext;
import static dev.rotor.it.SecretMaterial.verifyChain;
import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN;
import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN_ID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.it.SdsTestClient.Received;
import dev.rotor.it.SdsTestClient.SecretStream;
import dev.rotor.it.SecretMaterial.CertId;
import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.rotor.RotorProcess;
import dev.rotor.testkit.spire.SpireFixture;
import io.envoyproxy.envoy.config.core.v3.BuildVersion;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.type.v3.SemanticVersion;
import io.grpc.Status;
import java.net.URI;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Rotor, as a separate process, serving SDS from a real SPIRE agent's Workload API: what Envoy
 * would receive, compared with what SPIRE's own SDS serves, through rotations, an unauthorized
 * caller, and an agent restart. One SPIRE and one Rotor serve all tests; the agent restart runs
 * last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RotorSpireIT {
  private static final String WORKLOAD_ID = TRUST_DOMAIN_ID + "/rotor-it/workload";
  /** SPIRE renews at half-life, so a 60 s SVID rotates about every 30 s. */
  private static final Duration SVID_TTL = Duration.ofSeconds(60);
  private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(30);
  /** Long enough for two renewals of a 60 s SVID plus SPIRE's 5 s sync period and Rotor's lag. */
  private static final Duration TWO_ROTATIONS_TIMEOUT = Duration.ofSeconds(150);
  private static final Duration ROTATION_TIMEOUT = Duration.ofSeconds(90);
  private static final int FOREIGN_UID = 4242;
  private static final Pattern WARN_OR_ERROR = Pattern.compile("\"level\"\\s*:\\s*\"(WARN|ERROR)\"");

  @RegisterExtension
  @Order(1)
  static final SpireFixture spire = new SpireFixture();

  @RegisterExtension
  @Order(2)
  static final LogsOnFailure logs = new LogsOnFailure();

  private static RotorProcess rotor;

  @BeforeAll
  static void startRotor() {
    spire.createEntry(WORKLOAD_ID, SpireFixture.currentUidSelectors(), SVID_TTL);
    spire.awaitSvidIssued(WORKLOAD_ID);
    rotor = RotorProcess.serve(spire.dir(), "rotor", rotorArgs(SpireFixture.currentUid()));
    logs.add(rotor::describe);
  }

  @AfterAll
  static void stopRotor() {
    if (rotor != null) {
      rotor.close();
    }
  }

  private static List<String> rotorArgs(int allowedUid) {
    return List.of(
        "--workload-api", spire.agentSocketUri(),
        "--trust-domain", TRUST_DOMAIN,
        "--expect-spiffe-id", WORKLOAD_ID,
        "--allowed-uid", Integer.toString(allowedUid));
  }

  @Test
  @Order(1)
  void defaultAndRootcaStreams_serveTheRegisteredSvidThatVerifiesAgainstTheBundle() {
    try (SdsTestClient client = SdsTestClient.connect(rotor.sdsSocket());
        SecretStream certificate = client.streamSecrets(envoy("envoy-1"), List.of("default"));
        SecretStream validation = client.streamSecrets(envoy("envoy-1"), List.of("ROOTCA"))) {
      Received svid = certificate.awaitResponses(1, RESPONSE_TIMEOUT);
      Received bundle = validation.awaitResponses(1, RESPONSE_TIMEOUT);

      assertThat(names(svid.response())).containsExactly("default");
      assertThat(names(bundle.response())).containsExactly("ROOTCA");
      Secret tls = secret(svid.response(), "default");
      List<X509Certificate> chain = chain(tls);
      X509Certificate leaf = chain.get(0);
      assertThat(spiffeId(leaf)).isEqualTo(URI.create(WORKLOAD_ID));
      verifyChain(chain, anchors(secret(bundle.response(), "ROOTCA"), TRUST_DOMAIN), svid.arrivedAt());
      assertThat(matches(privateKey(tls, leaf), leaf))
          .as("the private key served with %s signs what its public key verifies", id(leaf))
          .isTrue();
    }
  }

  @Test
  @Order(2)
  void everySpireSecretName_matchesTheAgentsOwnSdsAnswer() {
    Node node = envoy("envoy-compare");
    try (SdsTestClient rotorClient = SdsTestClient.connect(rotor.sdsSocket());
        SdsTestClient agentClient = SdsTestClient.connect(spire.agentSocket())) {
      // Certificates: the agent may renew between the two reads, so compare until both sides
      // were read within one SVID generation (a bounded number of tries).
      for (String name : List.of("default", WORKLOAD_ID)) {
        await("Rotor's " + name + " certificate chain to equal the SPIRE agent's")
            .atMost(RESPONSE_TIMEOUT)
            .pollInterval(Duration.ofSeconds(1))
            .untilAsserted(() -> {
              DiscoveryResponse fromAgent = agentClient.fetchSecrets(node, List.of(name), RESPONSE_TIMEOUT);
              DiscoveryResponse fromRotor = firstResponse(rotorClient, node, name);
              assertThat(names(fromRotor)).as("names served for " + name).isEqualTo(names(fromAgent));
              assertThat(ids(chain(secret(fromRotor, name))))
                  .as("certificate chain of " + name + " (Rotor vs. the SPIRE agent)")
                  .isEqualTo(ids(chain(secret(fromAgent, name))));
            });
      }
      // Validation contexts: same names, same form (SPIFFE validator for an Envoy of unknown
      // version), same trust domains and CA certificates.
      for (String name : List.of("ROOTCA", "ALL", TRUST_DOMAIN_ID)) {
        DiscoveryResponse fromAgent = agentClient.fetchSecrets(node, List.of(name), RESPONSE_TIMEOUT);
        DiscoveryResponse fromRotor = firstResponse(rotorClient, node, name);
        assertThat(names(fromRotor)).as("names served for " + name).isEqualTo(names(fromAgent));
        assertThat(validationContext(secret(fromRotor, name)))
            .as("validation context " + name + " (Rotor vs. the SPIRE agent)")
            .isEqualTo(validationContext(secret(fromAgent, name)));
        assertThat(validationContext(secret(fromRotor, name)).form())
            .isEqualTo(SecretMaterial.SPIFFE_VALIDATOR);
      }
    }
  }

  @Test
  @Order(3)
  void envoyOlderThan1_18_getsTrustedCaLikeFromTheAgent() {
    Node oldEnvoy = envoy("envoy-1-17").toBuilder()
        .setUserAgentName("envoy")
        .setUserAgentBuildVersion(BuildVersion.newBuilder()
            .setVersion(SemanticVersion.newBuilder().setMajorNumber(1).setMinorNumber(17)))
        .build();
    try (SdsTestClient rotorClient = SdsTestClient.connect(rotor.sdsSocket());
        SdsTestClient agentClient = SdsTestClient.connect(spire.agentSocket())) {
      for (String name : List.of("ROOTCA", TRUST_DOMAIN_ID)) {
        DiscoveryResponse fromAgent = agentClient.fetchSecrets(oldEnvoy, List.of(name), RESPONSE_TIMEOUT);
        DiscoveryResponse fromRotor = firstResponse(rotorClient, oldEnvoy, name);
        assertThat(validationContext(secret(fromAgent, name)).form())
            .as("the SPIRE agent's form for Envoy 1.17")
            .isEqualTo(SecretMaterial.ValidationContext.TRUSTED_CA);
        assertThat(validationContext(secret(fromRotor, name)))
            .as("validation context " + name + " for Envoy 1.17 (Rotor vs. the SPIRE agent)")
            .isEqualTo(validationContext(secret(fromAgent, name)));
      }
    }
  }

  @Test
  @Order(4)
  void callerWithAnotherUid_isDeniedAndGetsNoSecret() {
    assumeThat(SpireFixture.currentUid()).as("this test's UID").isNotEqualTo(FOREIGN_UID);
    try (RotorProcess denying = RotorProcess.serve(spire.dir(), "rotor-denying", rotorArgs(FOREIGN_UID))) {
      logs.add(denying::describe);
      try (SdsTestClient client = SdsTestClient.connect(denying.sdsSocket());
          SecretStream stream = client.streamSecrets(envoy("envoy-denied"), List.of("default", "ROOTCA"))) {
        Status status = stream.awaitError(RESPONSE_TIMEOUT);

        // Rotor closes a refused UID's connection at the handshake (issue 13, finding 5).
        assertThat(status.getCode()).as(stream.describe()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(stream.responses()).as("responses to a caller with UID %d", SpireFixture.currentUid())
            .isEmpty();
      }
    }
  }

  @Test
  @Order(5)
  void defaultStream_receivesTwoRotationsWithoutReconnecting() {
    try (SdsTestClient client = SdsTestClient.connect(rotor.sdsSocket());
        SecretStream certificate = client.streamSecrets(envoy("envoy-rotation"), List.of("default"));
        SecretStream validation = client.streamSecrets(envoy("envoy-rotation"), List.of("ROOTCA"))) {
      certificate.awaitResponses(3, TWO_ROTATIONS_TIMEOUT);

      assertThat(certificate.isOpen()).as(certificate.describe()).isTrue();
      assertThat(validation.isOpen()).as(validation.describe()).isTrue();
      List<Received> pushes = certificate.responses();
      for (Received push : pushes) {
        Secret tls = secret(push.response(), "default");
        X509Certificate leaf = chain(tls).get(0);
        assertValidAt(leaf, push);
        assertThat(spiffeId(leaf)).isEqualTo(URI.create(WORKLOAD_ID));
        assertThat(matches(privateKey(tls, leaf), leaf)).as("key matches %s", id(leaf)).isTrue();
      }
      assertThat(pushes.stream().map(p -> id(chain(secret(p.response(), "default")).get(0))).distinct())
          .as("distinct leaf certificates in %d pushes", pushes.size())
          .hasSizeGreaterThanOrEqualTo(3);
      assertNoConsecutiveDuplicates(certificate);
      assertNoConsecutiveDuplicates(validation);
    }
  }

  @Test
  @Order(6)
  void agentRestart_keepsStreamsOpenServesLastGoodAndRotatesAfterwards() {
    try (SdsTestClient client = SdsTestClient.connect(rotor.sdsSocket());
        SecretStream original = client.streamSecrets(envoy("envoy-restart"), List.of("default"))) {
      original.awaitResponses(1, RESPONSE_TIMEOUT);

      int linesBefore = rotor.stdoutLines().size();
      spire.stopAgent();
      try {
        // Serve the late stream only once Rotor knows the agent is gone, so it is answered from
        // the last good identity, not in the moment before Rotor notices.
        await("Rotor to report the SPIRE agent's loss on stdout (a WARN or ERROR JSON line)")
            .atMost(Duration.ofSeconds(10))
            .pollInterval(Duration.ofMillis(100))
            .until(() -> rotor.stdoutLines().stream().skip(linesBefore)
                .anyMatch(line -> WARN_OR_ERROR.matcher(line).find()));
        try (SecretStream late = client.streamSecrets(envoy("envoy-late"), List.of("default"))) {
          Received served = late.awaitResponses(1, RESPONSE_TIMEOUT);
          X509Certificate leaf = chain(secret(served.response(), "default")).get(0);
          assertValidAt(leaf, served);
          // A renewal pushed just before the agent stopped may still be in flight to the
          // original stream; both streams must settle on the same, last good, certificate.
          await("the original stream's last certificate to equal the one served while the agent is down")
              .atMost(Duration.ofSeconds(5))
              .untilAsserted(() -> assertThat(leafId(original.last())).isEqualTo(id(leaf)));
        }
        assertThat(original.isOpen()).as("while the agent is down: " + original.describe()).isTrue();
      } finally {
        if (!spire.isAgentRunning()) {
          spire.startAgent();
        }
      }

      CertId beforeRestart = leafId(original.last());
      await("a new certificate on the original stream after the SPIRE agent restarted (last: "
              + beforeRestart + ")")
          .atMost(ROTATION_TIMEOUT)
          .until(() -> {
            if (!original.isOpen()) {
              throw new AssertionError("stream ended: " + original.describe());
            }
            return !leafId(original.last()).equals(beforeRestart);
          });
      assertValidAt(chain(secret(original.last().response(), "default")).get(0), original.last());
      assertNoConsecutiveDuplicates(original);
    }
  }

  private static Node envoy(String id) {
    return SdsTestClient.node(id);
  }

  /** Opens a stream for {@code name}, takes its first response, and closes it. */
  private static DiscoveryResponse firstResponse(SdsTestClient client, Node node, String name) {
    try (SecretStream stream = client.streamSecrets(node, List.of(name))) {
      return stream.awaitResponses(1, RESPONSE_TIMEOUT).response();
    }
  }

  private static CertId leafId(Received received) {
    return id(chain(secret(received.response(), "default")).get(0));
  }

  private static void assertValidAt(X509Certificate leaf, Received received) {
    try {
      leaf.checkValidity(Date.from(received.arrivedAt()));
    } catch (CertificateExpiredException | CertificateNotYetValidException e) {
      throw new AssertionError(id(leaf) + " (not before " + leaf.getNotBefore().toInstant()
          + ") was not valid when it arrived at " + received.arrivedAt(), e);
    }
  }

  /** Identical content must never be pushed twice in a row on one stream. */
  private static void assertNoConsecutiveDuplicates(SecretStream stream) {
    List<Received> all = stream.responses();
    for (int i = 1; i < all.size(); i++) {
      // Compared as a boolean: a failure message must not print secrets (they hold keys).
      boolean same = secrets(all.get(i).response()).equals(secrets(all.get(i - 1).response()));
      assertThat(same)
          .as("response %d on %s carries the same secrets as response %d (version %s -> %s)",
              i + 1, stream.describe(), i, all.get(i - 1).response().getVersionInfo(),
              all.get(i).response().getVersionInfo())
          .isFalse();
    }
  }
}
