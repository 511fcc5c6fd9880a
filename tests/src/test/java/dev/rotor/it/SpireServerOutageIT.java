package dev.rotor.it;

import static dev.rotor.it.SecretMaterial.chain;
import static dev.rotor.it.SecretMaterial.id;
import static dev.rotor.it.SecretMaterial.names;
import static dev.rotor.it.SecretMaterial.secret;
import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN;
import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN_ID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.it.SdsTestClient.Received;
import dev.rotor.it.SdsTestClient.SecretStream;
import dev.rotor.it.SecretMaterial.CertId;
import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.rotor.RotorProcess;
import dev.rotor.testkit.spire.SpireFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The SPIRE server down for three SVID lifetimes while the agent keeps running: Rotor serves what
 * the agent has while it is valid, withdraws it when it expires with no replacement (an expired
 * certificate is never served) and reports not ready on {@code /readyz}, and recovers by itself,
 * ready again, when the server returns.
 *
 * <p>SPIRE v1.13.3 sets no lower bound on an entry's X.509-SVID TTL; 20 s keeps the outage short
 * while the agent (sync every 5 s, renewal at half-life) still renews normally before it.
 */
class SpireServerOutageIT {
  private static final String WORKLOAD_ID = TRUST_DOMAIN_ID + "/outage-it/workload";
  private static final Duration SVID_TTL = Duration.ofSeconds(20);
  private static final Duration OUTAGE = SVID_TTL.multipliedBy(3);
  private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(30);
  /** The gate's withdrawal timer fires at the not-after; the push follows at once. */
  private static final Duration WITHDRAWAL_TIMEOUT = Duration.ofSeconds(5);
  /** Server health, the agent's next sync (≤ 5 s), a new SVID, Rotor's push. */
  private static final Duration RECOVERY_TIMEOUT = Duration.ofSeconds(60);

  @RegisterExtension
  static final SpireFixture spire = new SpireFixture();

  @RegisterExtension
  static final LogsOnFailure logs = new LogsOnFailure();

  private static RotorProcess rotor;

  @BeforeAll
  static void startRotor() {
    spire.createEntry(WORKLOAD_ID, SpireFixture.currentUidSelectors(), SVID_TTL);
    spire.awaitSvidIssued(WORKLOAD_ID);
    rotor = RotorProcess.serve(spire.dir(), "rotor", List.of(
        "--workload-api", spire.agentSocketUri(),
        "--trust-domain", TRUST_DOMAIN,
        "--expect-spiffe-id", WORKLOAD_ID,
        "--allowed-uid", Integer.toString(SpireFixture.currentUid()),
        // Ready while the SVID is valid at all: the default margin (30 s) exceeds a 20 s SVID.
        "--ready-expiry-margin", "1s"));
    logs.add(rotor::describe);
  }

  @AfterAll
  static void stopRotor() {
    if (rotor != null) {
      rotor.close();
    }
  }

  @Test
  void serverDownForThreeSvidLifetimes_servesWhileValidWithdrawsAtExpiryRecoversWhenBack() {
    try (SdsTestClient client = SdsTestClient.connect(rotor.sdsSocket())) {
      SecretStream certificate = client.streamSecrets(SdsTestClient.node("envoy-outage"), List.of("default"));
      SecretStream bundle = client.streamSecrets(SdsTestClient.node("envoy-outage"), List.of("ROOTCA"));
      DeltaSecretStream delta = client.deltaSecrets(SdsTestClient.node("envoy-outage-delta"), List.of("default"));
      certificate.awaitResponses(1, RESPONSE_TIMEOUT);
      bundle.awaitResponses(1, RESPONSE_TIMEOUT);
      awaitReady(true, RESPONSE_TIMEOUT);
      // Stop the server just after a renewal, so the last SVID has most of its life ahead.
      CertId first = leaf(certificate.last());
      await("a renewal before the outage").atMost(RESPONSE_TIMEOUT).pollInterval(Duration.ofMillis(100))
          .until(() -> !leaf(certificate.last()).equals(first));

      spire.stopServer();
      Instant down = Instant.now();
      try {
        // While valid: the last good certificate, to the old stream and to a new one.
        X509Certificate lastGood;
        try (SecretStream early = client.streamSecrets(SdsTestClient.node("envoy-early"), List.of("default"))) {
          Received served = early.awaitResponses(1, RESPONSE_TIMEOUT);
          ServedCertificates.checkAll(early);
          lastGood = chain(secret(served.response(), "default")).get(0);
        }
        Instant expiry = lastGood.getNotAfter().toInstant();
        assertThat(expiry).as("the last SVID's not-after, seen with the server down since %s", down)
            .isAfter(Instant.now());

        // At expiry: withdrawn. The delta stream is told, SotW streams keep what they have (SotW
        // cannot delete a secret) but get nothing more, and a new stream gets nothing for default.
        int deltaSeen = delta.responses().size();
        DeltaSecretStream.Received removal = delta.awaitResponseAfter(deltaSeen,
            r -> r.getRemovedResourcesList().contains("default"), "default in removed_resources",
            Duration.between(Instant.now(), expiry).plus(WITHDRAWAL_TIMEOUT));
        assertThat(removal.arrivedAt()).as("withdrawal of %s", id(lastGood)).isAfterOrEqualTo(expiry);
        assertThat(rotor.stdoutLines()).anyMatch(line -> line.contains("withdrew expired SVIDs"));
        awaitReady(false, WITHDRAWAL_TIMEOUT);

        SecretStream waiting = client.streamSecrets(SdsTestClient.node("envoy-during-outage"), List.of("default"));
        try (SecretStream bundleDuringOutage =
                 client.streamSecrets(SdsTestClient.node("envoy-during-outage"), List.of("ROOTCA"))) {
          assertThat(names(bundleDuringOutage.awaitResponses(1, RESPONSE_TIMEOUT).response()))
              .as("bundles are kept while the SVID is withdrawn").containsExactly("ROOTCA");
        }
        assertThat(waiting.responses()).as("responses for default with no valid SVID").isEmpty();
        assertThat(waiting.isOpen()).as("a stream waiting for default: " + waiting.describe()).isTrue();

        // Hold the outage for three lifetimes in all, checking nothing expired goes out.
        await("the outage to last " + OUTAGE).atMost(OUTAGE.plusSeconds(5)).pollInterval(Duration.ofSeconds(1))
            .until(() -> {
              ServedCertificates.checkAll(certificate);
              ServedCertificates.checkAll(delta);
              return Duration.between(down, Instant.now()).compareTo(OUTAGE) >= 0;
            });
        assertThat(waiting.responses()).as("responses for default during the whole outage").isEmpty();
        assertThat(leaf(certificate.last())).as("the SotW stream's last certificate").isEqualTo(id(lastGood));

        spire.startServer();

        CertId withdrawn = id(lastGood);
        await("a new certificate on the old stream, the waiting stream and the delta stream after the server returned")
            .atMost(RECOVERY_TIMEOUT)
            .pollInterval(Duration.ofMillis(200))
            .until(() -> !certificate.responses().isEmpty() && !leaf(certificate.last()).equals(withdrawn)
                && !waiting.responses().isEmpty()
                && delta.responses().size() > deltaSeen
                && delta.responses().get(delta.responses().size() - 1).response().getResourcesList().stream()
                    .anyMatch(r -> r.getName().equals("default")));
        assertThat(leaf(waiting.last())).isEqualTo(leaf(certificate.last()));
        awaitReady(true, RESPONSE_TIMEOUT);
        for (SecretStream s : List.of(certificate, bundle, waiting)) {
          ServedCertificates.checkAll(s);
          assertThat(s.isOpen()).as(s.describe()).isTrue();
        }
        ServedCertificates.checkAll(delta);
        assertThat(delta.isOpen()).as(delta.describe()).isTrue();
        waiting.close();
      } finally {
        if (!spire.isServerRunning()) {
          spire.startServer();
        }
        certificate.close();
        bundle.close();
        delta.close();
      }
    }
  }

  /** Waits until Rotor's {@code /readyz} answers 200 (ready) or 503 (not ready). */
  private static void awaitReady(boolean ready, Duration timeout) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    URI readyz = URI.create(rotor.adminUrl() + "/readyz");
    int expected = ready ? 200 : 503;
    AtomicReference<String> last = new AtomicReference<>("no answer yet");
    await("/readyz to answer " + expected)
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(200))
        .untilAsserted(() -> {
          HttpResponse<String> r = http.send(HttpRequest.newBuilder(readyz).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString());
          last.set(r.statusCode() + " " + r.body());
          assertThat(r.statusCode()).as("/readyz: %s", last.get()).isEqualTo(expected);
        });
    System.out.println("/readyz: " + last.get());
  }

  private static CertId leaf(Received received) {
    return id(chain(secret(received.response(), "default")).get(0));
  }
}
