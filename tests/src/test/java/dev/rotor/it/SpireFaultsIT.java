package dev.rotor.it;

import static dev.rotor.it.SecretMaterial.chain;
import static dev.rotor.it.SecretMaterial.id;
import static dev.rotor.it.SecretMaterial.secret;
import static dev.rotor.it.SecretMaterial.validationContext;
import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN;
import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN_ID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.rotor.it.SdsTestClient.Received;
import dev.rotor.it.SdsTestClient.SecretStream;
import dev.rotor.it.SecretMaterial.CertId;
import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.rotor.RotorProcess;
import dev.rotor.testkit.spire.SpireFixture;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Crashes around a running Rotor, against a real SPIRE: Rotor itself killed with SIGKILL while
 * Envoys are connected, and the SPIRE agent killed with SIGKILL five times under live streams.
 * Every certificate any stream receives is checked against the moment it arrived.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SpireFaultsIT {
  private static final String WORKLOAD_ID = TRUST_DOMAIN_ID + "/faults-it/workload";
  /** The agent renews at half-life: a rotation about every 15 s. */
  private static final Duration SVID_TTL = Duration.ofSeconds(30);
  private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(30);
  /** A restarted agent re-attests and fetches new SVIDs from the server (sync every 5 s). */
  private static final Duration AFTER_RESTART_TIMEOUT = Duration.ofSeconds(60);
  /** From a reconnect to the first response: Rotor must first hear from the agent once. */
  private static final Duration AT_ONCE = Duration.ofSeconds(10);
  private static final int AGENT_KILLS = 5;
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
    rotor = startRotorProcess();
    logs.add(() -> rotor.describe());
  }

  @AfterAll
  static void stopRotor() {
    if (rotor != null) {
      rotor.close();
    }
  }

  private static RotorProcess startRotorProcess() {
    return RotorProcess.serve(spire.dir(), "rotor", List.of(
        "--workload-api", spire.agentSocketUri(),
        "--trust-domain", TRUST_DOMAIN,
        "--expect-spiffe-id", WORKLOAD_ID,
        "--allowed-uid", Integer.toString(SpireFixture.currentUid())));
  }

  @Test
  @Order(1)
  void rotorKilled_clientsReconnectWithTheirOldNoncesAndGetTheCurrentStateAtOnce() {
    List<List<String>> subscriptions = List.of(List.of("default"), List.of("default"), List.of("ROOTCA"));
    List<Received> lastBeforeKill = new ArrayList<>();
    try (SdsTestClient before = SdsTestClient.connect(rotor.sdsSocket())) {
      List<SecretStream> streams = new ArrayList<>();
      for (int i = 0; i < subscriptions.size(); i++) {
        streams.add(before.streamSecrets(SdsTestClient.node("envoy-" + i), subscriptions.get(i)));
      }
      for (SecretStream s : streams) {
        s.awaitResponses(1, RESPONSE_TIMEOUT);
        ServedCertificates.checkAll(s);
      }

      rotor.kill();

      await("every stream to see Rotor's death")
          .atMost(Duration.ofSeconds(10))
          .until(() -> streams.stream().noneMatch(SecretStream::isOpen));
      streams.forEach(s -> lastBeforeKill.add(s.last()));
    }

    rotor = startRotorProcess();
    Instant listening = Instant.now();
    try (SdsTestClient after = SdsTestClient.connect(rotor.sdsSocket());
        SdsTestClient agent = SdsTestClient.connect(spire.agentSocket())) {
      List<SecretStream> reconnected = new ArrayList<>();
      for (int i = 0; i < subscriptions.size(); i++) {
        Received last = lastBeforeKill.get(i);
        // Envoy's first request on the new stream: its last accepted version and the old
        // server's nonce, which the new server never issued (xds-protocol rule 3).
        reconnected.add(after.streamSecrets(SdsTestClient.node("envoy-" + i), subscriptions.get(i),
            last.response().getVersionInfo(), last.response().getNonce()));
      }
      for (SecretStream s : reconnected) {
        Received first = s.awaitResponses(1, AT_ONCE);
        Duration reconnect = Duration.between(listening, first.arrivedAt());
        assertThat(reconnect)
            .as("from Rotor listening again to the first response on %s", s.describe())
            .isLessThan(AT_ONCE);
        System.out.printf("Rotor SIGKILL: %s answered %d ms after the restarted Rotor listened%n",
            s.describe(), reconnect.toMillis());
        ServedCertificates.checkAll(s);
      }
      // The current state: what the SPIRE agent itself serves now (re-read if it renewed meanwhile).
      await("the reconnected default streams to hold the agent's current certificate")
          .atMost(RESPONSE_TIMEOUT)
          .pollInterval(Duration.ofSeconds(1))
          .untilAsserted(() -> {
            CertId agentLeaf = id(chain(secret(
                agent.fetchSecrets(SdsTestClient.node("compare"), List.of("default"), RESPONSE_TIMEOUT), "default")).get(0));
            assertThat(leafOf(reconnected.get(0).last())).isEqualTo(agentLeaf);
            assertThat(leafOf(reconnected.get(1).last())).isEqualTo(agentLeaf);
          });
      assertThat(validationContext(secret(reconnected.get(2).last().response(), "ROOTCA")))
          .isEqualTo(validationContext(secret(
              agent.fetchSecrets(SdsTestClient.node("compare"), List.of("ROOTCA"), RESPONSE_TIMEOUT), "ROOTCA")));
      reconnected.forEach(SecretStream::close);
    }
  }

  @Test
  @Order(2)
  void agentKilledFiveTimes_noStreamClosedLastGoodServedEveryRotationReachesEveryStream() {
    try (SdsTestClient client = SdsTestClient.connect(rotor.sdsSocket())) {
      List<SecretStream> certificates = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        certificates.add(client.streamSecrets(SdsTestClient.node("envoy-kill-" + i), List.of("default")));
      }
      SecretStream bundle = client.streamSecrets(SdsTestClient.node("envoy-kill-bundle"), List.of("ROOTCA"));
      DeltaSecretStream delta = client.deltaSecrets(SdsTestClient.node("envoy-kill-delta"), List.of("default"));
      certificates.forEach(s -> s.awaitResponses(1, RESPONSE_TIMEOUT));
      bundle.awaitResponses(1, RESPONSE_TIMEOUT);
      delta.awaitResponseAfter(0, r -> true, "a first response", RESPONSE_TIMEOUT);

      List<CertId> afterEachRestart = new ArrayList<>();
      for (int kill = 1; kill <= AGENT_KILLS; kill++) {
        String cycle = "after agent kill " + kill + " of " + AGENT_KILLS;
        int linesBefore = rotor.stdoutLines().size();
        spire.killAgent();
        try {
          await("Rotor to report the agent's loss (a WARN or ERROR line) " + cycle)
              .atMost(Duration.ofSeconds(10))
              .pollInterval(Duration.ofMillis(100))
              .until(() -> rotor.stdoutLines().stream().skip(linesBefore)
                  .anyMatch(line -> WARN_OR_ERROR.matcher(line).find()));
          // Meanwhile the last good certificate is served, to old streams and a new one alike.
          try (SecretStream late = client.streamSecrets(SdsTestClient.node("envoy-late-" + kill), List.of("default"))) {
            CertId served = leafOf(late.awaitResponses(1, RESPONSE_TIMEOUT));
            ServedCertificates.checkAll(late);
            await("every stream to hold the certificate served while the agent is down " + cycle)
                .atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> {
                  for (SecretStream s : certificates) {
                    assertThat(leafOf(s.last())).as(s.describe()).isEqualTo(served);
                  }
                  assertThat(deltaLeaf(delta)).contains(served);
                });
          }
          assertAllOpen(certificates, bundle, delta, cycle);
        } finally {
          if (!spire.isAgentRunning()) {
            spire.startAgent();
          }
        }

        CertId lastGood = leafOf(certificates.get(0).last());
        Instant restarted = Instant.now();
        CertId next = awaitNewLeafEverywhere(certificates, delta, lastGood, cycle);
        System.out.printf("agent SIGKILL %d: new certificate on all 4 streams %d ms after the agent was healthy%n",
            kill, Duration.between(restarted, Instant.now()).toMillis());
        afterEachRestart.add(next);
        assertAllOpen(certificates, bundle, delta, cycle);
      }

      // And the agent's own next renewal, with nothing killed, reaches every stream too.
      afterEachRestart.add(awaitNewLeafEverywhere(certificates, delta, afterEachRestart.get(AGENT_KILLS - 1),
          "at the renewal after the last restart"));

      int checked = 0;
      for (SecretStream s : certificates) {
        checked += ServedCertificates.checkAll(s);
        assertThat(ServedCertificates.leaves(s, "default"))
            .as("certificates received on %s, in order", s.describe())
            .containsSubsequence(afterEachRestart);
      }
      checked += ServedCertificates.checkAll(bundle) + ServedCertificates.checkAll(delta);
      assertThat(checked).as("certificates checked for validity at arrival").isGreaterThan(3 * (AGENT_KILLS + 1));
      System.out.printf("agent SIGKILL x%d: %d certificates checked, every one valid at arrival; streams open%n",
          AGENT_KILLS, checked);
      assertAllOpen(certificates, bundle, delta, "at the end");
    }
  }

  /** Waits until every stream holds one new certificate, other than {@code old}; returns it. */
  private static CertId awaitNewLeafEverywhere(List<SecretStream> streams, DeltaSecretStream delta, CertId old,
      String when) {
    await("a new certificate (not " + old + ") on every stream " + when)
        .atMost(AFTER_RESTART_TIMEOUT)
        .pollInterval(Duration.ofMillis(200))
        .until(() -> {
          for (SecretStream s : streams) {
            if (!s.isOpen()) {
              throw new AssertionError("stream ended " + when + ": " + s.describe());
            }
          }
          CertId first = leafOf(streams.get(0).last());
          return !first.equals(old)
              && streams.stream().allMatch(s -> leafOf(s.last()).equals(first))
              && deltaLeaf(delta).filter(first::equals).isPresent();
        });
    return leafOf(streams.get(0).last());
  }

  private static void assertAllOpen(List<SecretStream> certificates, SecretStream bundle, DeltaSecretStream delta,
      String when) {
    for (SecretStream s : certificates) {
      assertThat(s.isOpen()).as(when + ": " + s.describe()).isTrue();
    }
    assertThat(bundle.isOpen()).as(when + ": " + bundle.describe()).isTrue();
    assertThat(delta.isOpen()).as(when + ": " + delta.describe()).isTrue();
  }

  private static CertId leafOf(Received received) {
    return id(chain(secret(received.response(), "default")).get(0));
  }

  /** The newest {@code default} certificate the delta stream received, if any. */
  private static Optional<CertId> deltaLeaf(DeltaSecretStream delta) {
    List<DeltaSecretStream.Received> all = delta.responses();
    for (int i = all.size() - 1; i >= 0; i--) {
      for (Resource r : all.get(i).response().getResourcesList()) {
        if (r.getName().equals("default")) {
          try {
            X509Certificate leaf = chain(r.getResource().unpack(Secret.class)).get(0);
            return Optional.of(id(leaf));
          } catch (InvalidProtocolBufferException e) {
            throw new AssertionError("delta resource default is not a Secret", e);
          }
        }
      }
    }
    return Optional.empty();
  }
}
