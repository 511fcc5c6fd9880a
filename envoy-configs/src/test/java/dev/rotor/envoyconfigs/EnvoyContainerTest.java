package dev.rotor.envoyconfigs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.abort;

import dev.rotor.admin.AdminOptions;
import dev.rotor.envoyconfigs.EnvoyAdmin.Cert;
import dev.rotor.gate.GatePolicy;
import dev.rotor.runtime.ServeConfig;
import dev.rotor.runtime.ServeRuntime;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.transport.UdsServerOptions;
import dev.rotor.xds.secret.SecretNaming;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.Slf4jLogConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * backend-envoy.yaml in a real Envoy against an in-process Rotor ({@code rotor serve --dev}): the
 * {@code default} secret reaches Envoy over ADS, and when the development CA rotates the SVID the
 * serial Envoy holds changes.
 *
 * <p>An integration test in all but name: this module has no failsafe, so it is a {@code *Test}
 * run by surefire. Without Docker it is skipped through an assumption that says why; it never
 * counts as passed.
 */
@EnabledOnOs(value = OS.LINUX,
    disabledReason = "Rotor's Unix socket needs Linux epoll, and Envoy reaches it through a bind mount")
class EnvoyContainerTest {

  private static final Logger log = LoggerFactory.getLogger(EnvoyContainerTest.class);

  /** Pinned; the 1.34 line matches the Envoy API protos this build compiles the bootstraps against. */
  static final DockerImageName ENVOY_IMAGE = DockerImageName.parse("envoyproxy/envoy:v1.34.10");

  private static final int ADMIN_PORT = 9901;
  private static final String BOOTSTRAP_IN_CONTAINER = "/etc/envoy/backend-envoy.yaml";
  /**
   * Docker publishes a port on the container's network interface, not on its loopback, where the
   * bootstrap binds the admin API. Envoy merges {@code --config-yaml} over the file, so the test
   * widens that one bind and runs the file otherwise unchanged.
   */
  private static final String ADMIN_ON_CONTAINER_INTERFACE =
      "{admin: {address: {socket_address: {address: 0.0.0.0, port_value: " + ADMIN_PORT + "}}}}";

  private static final TrustDomain TRUST_DOMAIN = TrustDomain.parse("example.org");
  private static final SpiffeId BACKEND = SpiffeId.parse("spiffe://example.org/ns/demo/sa/backend");
  private static final String DEFAULT_SVID_SECRET = SecretNaming.SPIRE_DEFAULTS.defaultSvidName();
  /** {@code --svid-ttl 10s}: the development CA re-issues at half the TTL, so every 5 s. */
  private static final Duration SVID_TTL = Duration.ofSeconds(10);
  private static final Duration FIRST_SECRET_WAIT = Duration.ofSeconds(30);
  private static final Duration ROTATION_WAIT = SVID_TTL.multipliedBy(3);

  /** Per test, not per class, so the report counts the test as skipped, with this reason. */
  @BeforeEach
  void requireDocker() {
    Optional<String> why = DockerAvailability.unavailableReason();
    if (why.isPresent()) {
      String message = "Docker is not available: " + why.get();
      log.warn("EnvoyContainerTest skipped. {}", message);
      abort(message);
    }
  }

  @Test
  void backendEnvoyGetsTheDefaultSecretOverAdsAndThenItsRotation(@TempDir Path tmp) throws Exception {
    Path socketDir = tmp.resolve("run-rotor");
    Path socket = socketDir.resolve("sds.sock");

    try (ServeRuntime rotor = ServeRuntime.start(devConfig(socket))) {
      assertThat(AdsProbe.whyNoListeners(socket, Sidecar.BACKEND.nodeId, Duration.ofSeconds(10)))
          .as("Rotor at %s serves LDS over ADS for node \"%s\", as backend-envoy.yaml needs", socket,
              Sidecar.BACKEND.nodeId)
          .isEmpty();

      try (GenericContainer<?> envoy = envoy(socketDir)) {
        envoy.start();
        EnvoyAdmin admin = new EnvoyAdmin(
            URI.create("http://" + envoy.getHost() + ":" + envoy.getMappedPort(ADMIN_PORT) + "/"));

        Cert first = awaitDefaultSecret(admin, Optional.empty(), FIRST_SECRET_WAIT);
        log.info("Envoy holds `{}`: {}", DEFAULT_SVID_SECRET, first);
        Cert rotated = awaitDefaultSecret(admin, Optional.of(first.serial()), ROTATION_WAIT);
        log.info("Envoy holds the rotated `{}`: {}", DEFAULT_SVID_SECRET, rotated);

        assertThat(rotated.serial()).isNotEqualTo(first.serial());
      }
    }
  }

  /**
   * What {@code rotor serve --dev --trust-domain example.org --spiffe-id <backend> --expect-spiffe-id
   * <backend> --svid-ttl 10s --sds-socket <socket> --allowed-uid 0 --allowed-uid <own UID> --policy
   * deploy/policy/demo-policy.yaml} would
   * build (see ServeConfigParser), constructed directly.
   *
   * <p>UIDs: Envoy runs as root in its container ({@code ENVOY_UID=0}); Rotor sees that caller as
   * UID 0 with a rootful Docker daemon and as the user running this test with rootless Docker,
   * where container root maps to that user. Root in the container can also open the 0660 socket
   * this user owns, which Envoy's default UID 101 could not.
   */
  private static ServeConfig devConfig(Path socket) {
    DevCaOptions dev = DevCaOptions.of(
        TRUST_DOMAIN, List.of(BACKEND), SVID_TTL, Duration.ofHours(24), Duration.ZERO, SVID_TTL);
    Set<Integer> uids = new TreeSet<>(List.of(0, ownUid())); // one element when the test runs as root
    return new ServeConfig(
        Optional.of(dev),
        Optional.empty(),
        Duration.ZERO,
        new GatePolicy(Optional.of(TRUST_DOMAIN), Set.of(BACKEND)),
        UdsServerOptions.of(socket, uids),
        Optional.empty(),
        SecretNaming.SPIRE_DEFAULTS,
        false,
        Optional.of(DEMO_POLICY.toAbsolutePath()),
        Duration.ofSeconds(1),
        AdminOptions.disabled());
  }

  /** The demo policy: the backend's inbound listener references `default` and `ROOTCA` over ADS. */
  private static final Path DEMO_POLICY = Path.of("..", "deploy", "policy", "demo-policy.yaml");

  private static GenericContainer<?> envoy(Path socketDir) {
    return new GenericContainer<>(ENVOY_IMAGE)
        .withEnv("ENVOY_UID", "0")
        // Rotor's socket appears in the container where the bootstrap looks for it.
        .withFileSystemBind(socketDir.toString(), "/run/rotor", BindMode.READ_WRITE)
        .withCopyFileToContainer(MountableFile.forHostPath(Sidecar.BACKEND.bootstrap()), BOOTSTRAP_IN_CONTAINER)
        .withCommand("envoy", "-c", BOOTSTRAP_IN_CONTAINER,
            "--config-yaml", ADMIN_ON_CONTAINER_INTERFACE,
            "--log-level", "info")
        .withExposedPorts(ADMIN_PORT)
        .withLogConsumer(new Slf4jLogConsumer(log).withPrefix("envoy"))
        .waitingFor(Wait.forHttp("/ready").forPort(ADMIN_PORT).withStartupTimeout(Duration.ofSeconds(60)));
  }

  /**
   * Waits until Envoy holds an active {@code default} secret for the backend's SPIFFE ID, with a
   * serial other than {@code notSerial} when given, and its TLS context (/certs) uses it.
   */
  private static Cert awaitDefaultSecret(EnvoyAdmin admin, Optional<BigInteger> notSerial, Duration atMost) {
    String what = notSerial
        .map(s -> "a rotated `" + DEFAULT_SVID_SECRET + "` secret (serial other than " + s.toString(16) + ")")
        .orElse("the `" + DEFAULT_SVID_SECRET + "` secret")
        + " of " + BACKEND + " in Envoy's dynamic_active_secrets and /certs";
    AtomicReference<Cert> seen = new AtomicReference<>();
    await(what).atMost(atMost).pollInterval(Duration.ofMillis(250)).untilAsserted(() -> {
      Cert secret = admin.activeSecretLeaf(DEFAULT_SVID_SECRET)
          .orElseThrow(() -> new AssertionError("no active dynamic secret `" + DEFAULT_SVID_SECRET + "` yet"));
      assertThat(secret.uriSans()).as("URI SANs of `%s`", DEFAULT_SVID_SECRET).containsExactly(BACKEND.toString());
      notSerial.ifPresent(s -> assertThat(secret.serial()).as("serial of `%s`", DEFAULT_SVID_SECRET).isNotEqualTo(s));
      assertThat(admin.certs()).as("leaf certificates in /certs").contains(secret);
      seen.set(secret);
    });
    return seen.get();
  }

  private static int ownUid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read this process's UID from /proc/self", e);
    }
  }
}
