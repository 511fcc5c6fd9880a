package dev.rotor.it;

import static dev.rotor.it.SecretMaterial.anchors;
import static dev.rotor.it.SecretMaterial.chain;
import static dev.rotor.it.SecretMaterial.secret;
import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN;
import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN_ID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.it.SdsTestClient.SecretStream;
import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.rotor.RotorProcess;
import dev.rotor.testkit.spire.SpireFixture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A trust-bundle (CA) rotation in SPIRE under live mTLS traffic between two workloads, each fed
 * by its own Rotor: JDK TLS peers that load certificate, key and bundle from SDS handshake with
 * each other continuously while the SPIRE server prepares a new CA, publishes it in the bundle,
 * activates it and re-issues both SVIDs from it. Not one handshake may fail.
 *
 * <p>Two workloads on one machine: both Rotors run as root, told apart by the SPIRE agent's
 * {@code unix} attestor through their group ({@code setpriv --regid}). With {@code ca_ttl = 2m}
 * SPIRE prepares the next CA at half of its life and activates it at five sixths (its rotator
 * checks every 10 s), so the whole rotation takes about two minutes; 20 s SVIDs are the longest
 * that a 2 m CA issues in full (ca_ttl / 6).
 */
class CaRotationIT {
  private static final String FRONTEND = TRUST_DOMAIN_ID + "/ca-it/frontend";
  private static final String BACKEND = TRUST_DOMAIN_ID + "/ca-it/backend";
  private static final Duration SVID_TTL = Duration.ofSeconds(20);
  private static final int BACKEND_GID = 4243;
  private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(60);
  /** Set-up ate part of the first CA's 2 minutes; activation plus one SVID renewal, with margin. */
  private static final Duration ROTATION_TIMEOUT = Duration.ofMinutes(4);
  private static final Duration HANDSHAKE_PERIOD = Duration.ofMillis(100);
  private static final int HANDSHAKES_AFTER_ROTATION = 30;

  @RegisterExtension
  static final SpireFixture spire = new SpireFixture()
      .withServerSetting("ca_ttl", "2m")
      .withServerSetting("default_x509_svid_ttl", "20s");

  @RegisterExtension
  static final LogsOnFailure logs = new LogsOnFailure();

  private static RotorProcess frontendRotor;
  private static RotorProcess backendRotor;

  @BeforeAll
  static void startRotors() {
    int uid = SpireFixture.currentUid();
    spire.createEntry(FRONTEND, List.of("unix:uid:" + uid, "unix:gid:" + currentGid()), SVID_TTL);
    spire.createEntry(BACKEND, List.of("unix:uid:" + uid, "unix:gid:" + BACKEND_GID), SVID_TTL);
    spire.awaitSvidIssued(FRONTEND);
    frontendRotor = RotorProcess.serve(spire.dir(), "rotor-frontend", rotorArgs(FRONTEND));
    logs.add(frontendRotor::describe);
    backendRotor = RotorProcess.serve(spire.dir(), "rotor-backend",
        List.of("setpriv", "--regid=" + BACKEND_GID, "--clear-groups"), rotorArgs(BACKEND));
    logs.add(backendRotor::describe);
  }

  @AfterAll
  static void stopRotors() {
    if (backendRotor != null) {
      backendRotor.close();
    }
    if (frontendRotor != null) {
      frontendRotor.close();
    }
  }

  private static List<String> rotorArgs(String spiffeId) {
    return List.of(
        "--workload-api", spire.agentSocketUri(),
        "--trust-domain", TRUST_DOMAIN,
        "--expect-spiffe-id", spiffeId,
        "--allowed-uid", Integer.toString(SpireFixture.currentUid()));
  }

  @Test
  void caRotation_mtlsBetweenTwoSdsFedWorkloads_neverFailsAHandshake() throws Exception {
    try (SdsTestClient toFrontend = SdsTestClient.connect(frontendRotor.sdsSocket());
        SdsTestClient toBackend = SdsTestClient.connect(backendRotor.sdsSocket());
        SecretStream frontendCert = toFrontend.streamSecrets(SdsTestClient.node("frontend"), List.of("default"));
        SecretStream frontendBundle = toFrontend.streamSecrets(SdsTestClient.node("frontend"), List.of("ROOTCA"));
        SecretStream backendCert = toBackend.streamSecrets(SdsTestClient.node("backend"), List.of("default"));
        SecretStream backendBundle = toBackend.streamSecrets(SdsTestClient.node("backend"), List.of("ROOTCA"))) {
      for (SecretStream s : List.of(frontendCert, frontendBundle, backendCert, backendBundle)) {
        s.awaitResponses(1, RESPONSE_TIMEOUT);
      }
      List<X509Certificate> initialCas = bundle(frontendBundle);

      SSLContext backendTls = new SdsFedTls(backendCert, backendBundle, TRUST_DOMAIN, URI.create(FRONTEND)).context();
      SSLContext frontendTls = new SdsFedTls(frontendCert, frontendBundle, TRUST_DOMAIN, URI.create(BACKEND)).context();
      Traffic traffic = new Traffic(backendTls, frontendTls);
      AtomicInteger mostCasInABundle = new AtomicInteger();
      AtomicReference<Instant> rotatedAt = new AtomicReference<>();
      try {
        traffic.start();
        await("both workloads to hold SVIDs from a CA that is not in the first bundle " + ids(initialCas)
                + ", then " + HANDSHAKES_AFTER_ROTATION + " more handshakes")
            .atMost(ROTATION_TIMEOUT)
            .pollInterval(Duration.ofMillis(500))
            .until(() -> {
              traffic.check();
              mostCasInABundle.accumulateAndGet(
                  Math.min(bundle(frontendBundle).size(), bundle(backendBundle).size()), Math::max);
              boolean rotated = !signedByAnyOf(leaf(frontendCert), initialCas)
                  && !signedByAnyOf(leaf(backendCert), initialCas);
              if (rotated && rotatedAt.get() == null) {
                rotatedAt.set(Instant.now());
                traffic.markRotation();
              }
              return rotated && traffic.sinceRotation() >= HANDSHAKES_AFTER_ROTATION;
            });
      } finally {
        traffic.stop();
      }

      assertThat(traffic.failures()).as("failed handshakes or exchanges, of %d", traffic.succeeded()).isEmpty();
      assertThat(mostCasInABundle.get()).as("CAs in both bundles at once during the rotation").isGreaterThanOrEqualTo(2);
      assertThat(traffic.succeeded()).as("handshakes").isGreaterThan(HANDSHAKES_AFTER_ROTATION);
      for (SecretStream s : List.of(frontendCert, frontendBundle, backendCert, backendBundle)) {
        ServedCertificates.checkAll(s);
        assertThat(s.isOpen()).as(s.describe()).isTrue();
      }
      System.out.printf("CA rotation: %d handshakes, 0 failed, rotated at %s%n", traffic.succeeded(), rotatedAt.get());
    }
  }

  /**
   * The backend serves, the frontend connects, every {@link #HANDSHAKE_PERIOD}: a full mutual
   * TLS handshake and one byte each way (TLS 1.3 clients learn of a rejected client certificate
   * only when they read). Failures on either side are collected with the time they happened.
   */
  private static final class Traffic {
    private final SSLContext server;
    private final SSLContext client;
    private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    private final AtomicInteger succeeded = new AtomicInteger();
    private final AtomicInteger atRotation = new AtomicInteger(-1);
    private final ScheduledExecutorService clientLoop = Executors.newSingleThreadScheduledExecutor();
    private SSLServerSocket listener;
    private Thread acceptor;

    Traffic(SSLContext server, SSLContext client) {
      this.server = server;
      this.client = client;
    }

    void start() throws IOException {
      listener = (SSLServerSocket) server.getServerSocketFactory()
          .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
      listener.setNeedClientAuth(true);
      acceptor = new Thread(this::serve, "mtls-backend");
      acceptor.setDaemon(true);
      acceptor.start();
      clientLoop.scheduleWithFixedDelay(this::connectOnce, 0, HANDSHAKE_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void serve() {
      while (!listener.isClosed()) {
        try (SSLSocket s = (SSLSocket) listener.accept()) {
          s.setSoTimeout(5_000);
          s.startHandshake();
          int b = s.getInputStream().read();
          s.getOutputStream().write(b);
          s.getOutputStream().flush();
        } catch (IOException e) {
          if (!listener.isClosed()) {
            failures.add(Instant.now() + " backend: " + e);
          }
        }
      }
    }

    private void connectOnce() {
      try (SSLSocket s = (SSLSocket) client.getSocketFactory()
          .createSocket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
        s.setSoTimeout(5_000);
        s.startHandshake();
        s.getOutputStream().write(42);
        s.getOutputStream().flush();
        if (s.getInputStream().read() != 42) {
          throw new IOException("the backend did not echo the byte");
        }
        succeeded.incrementAndGet();
      } catch (IOException | RuntimeException e) {
        failures.add(Instant.now() + " frontend: " + e);
      }
    }

    void markRotation() {
      atRotation.compareAndSet(-1, succeeded.get());
    }

    int sinceRotation() {
      return atRotation.get() < 0 ? 0 : succeeded.get() - atRotation.get();
    }

    int succeeded() {
      return succeeded.get();
    }

    List<String> failures() {
      return List.copyOf(failures);
    }

    /** Fails at once, with the first failures, instead of waiting for the end. */
    void check() {
      if (!failures.isEmpty()) {
        throw new AssertionError("handshake failures after " + succeeded.get() + " successes: "
            + failures.stream().limit(5).toList());
      }
    }

    void stop() throws IOException, InterruptedException {
      clientLoop.shutdownNow();
      clientLoop.awaitTermination(10, TimeUnit.SECONDS);
      if (listener != null) {
        listener.close();
      }
      if (acceptor != null) {
        acceptor.join(10_000);
      }
    }
  }

  private static List<X509Certificate> bundle(SecretStream stream) {
    return anchors(secret(stream.last().response(), "ROOTCA"), TRUST_DOMAIN);
  }

  private static X509Certificate leaf(SecretStream stream) {
    return chain(secret(stream.last().response(), "default")).get(0);
  }

  private static boolean signedByAnyOf(X509Certificate leaf, List<X509Certificate> cas) {
    for (X509Certificate ca : cas) {
      try {
        leaf.verify(ca.getPublicKey());
        return true;
      } catch (GeneralSecurityException e) {
        // not this one
      }
    }
    return false;
  }

  private static List<SecretMaterial.CertId> ids(List<X509Certificate> certs) {
    return SecretMaterial.ids(certs);
  }

  private static int currentGid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the GID of this process from /proc/self", e);
    }
  }
}
