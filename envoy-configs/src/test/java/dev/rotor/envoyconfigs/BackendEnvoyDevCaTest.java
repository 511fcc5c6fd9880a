package dev.rotor.envoyconfigs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.admin.AdminOptions;
import dev.rotor.gate.GatePolicy;
import dev.rotor.runtime.ServeConfig;
import dev.rotor.runtime.ServeRuntime;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.testkit.DemoPolicy;
import dev.rotor.testkit.Ports;
import dev.rotor.testkit.envoy.EnvoyAdmin;
import dev.rotor.testkit.envoy.EnvoyAdmin.Cert;
import dev.rotor.testkit.envoy.EnvoyBootstrap;
import dev.rotor.testkit.envoy.EnvoyProcess;
import dev.rotor.transport.UdsServerOptions;
import dev.rotor.xds.secret.SecretNaming;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * backend-envoy.yaml, as it is (socket path and admin port substituted), in a real Envoy of each
 * tested version against an in-process Rotor ({@code rotor serve --dev --policy} with the demo
 * policy): Envoy goes LIVE with the backend's listener and the {@code default} secret over ADS,
 * rejects nothing, and when the development CA rotates the SVID the serial Envoy holds and uses
 * changes.
 *
 * <p>The end-to-end suite against real SPIRE lives in {@code tests/} ({@code dev.rotor.it.envoy});
 * this is the bootstrap file's own test, next to it.
 */
@ParameterizedClass(name = "Envoy {0}")
@MethodSource("dev.rotor.testkit.envoy.EnvoyVersions#all")
class BackendEnvoyDevCaTest {

  private static final TrustDomain TRUST_DOMAIN = TrustDomain.parse("example.org");
  private static final SpiffeId BACKEND = SpiffeId.parse("spiffe://example.org/ns/demo/sa/backend");
  private static final String DEFAULT_SVID_SECRET = SecretNaming.SPIRE_DEFAULTS.defaultSvidName();
  /** {@code --svid-ttl 10s}: the development CA re-issues at half the TTL, so every 5 s. */
  private static final Duration SVID_TTL = Duration.ofSeconds(10);
  private static final Duration FIRST_SECRET_WAIT = Duration.ofSeconds(30);
  private static final Duration ROTATION_WAIT = SVID_TTL.multipliedBy(3);

  @Parameter
  String envoyVersion;

  @Test
  void backendEnvoyGetsItsListenerAndDefaultSecretOverAds_andThenTheRotation(@TempDir Path tmp) throws Exception {
    Path socket = tmp.resolve("sds.sock");
    int inboundPort = Ports.free();
    Path policy = DemoPolicy.onOneMachine(inboundPort, Ports.free(), Ports.free(), "127.0.0.1:" + inboundPort)
        .writeTo(tmp.resolve("policy.yaml"));

    try (ServeRuntime rotor = ServeRuntime.start(devConfig(socket, policy));
        EnvoyProcess envoy = EnvoyProcess.builder("backend", envoyVersion)
            .bootstrap(EnvoyBootstrap.demo(Sidecar.BACKEND.fileName, socket))
            .dir(tmp)
            .start()) {
      envoy.awaitLive(FIRST_SECRET_WAIT);
      EnvoyAdmin admin = envoy.admin();

      Cert first = awaitDefaultSecret(envoy, Optional.empty(), FIRST_SECRET_WAIT);
      assertThat(admin.activeListeners()).extracting(EnvoyAdmin.Versioned::name).containsExactly("inbound_" + inboundPort);
      Cert rotated = awaitDefaultSecret(envoy, Optional.of(first.serial()), ROTATION_WAIT);

      assertThat(rotated.serial()).isNotEqualTo(first.serial());
      assertThat(admin.sumOfStatsEndingWith(".update_rejected")).as("xDS updates Envoy rejected").isZero();
    }
  }

  /**
   * What {@code rotor serve --dev --trust-domain example.org --spiffe-id <backend>
   * --expect-spiffe-id <backend> --svid-ttl 10s --sds-socket <socket> --policy <policy>} builds
   * (see ServeConfigParser), constructed directly. Envoy runs as this test's user, Rotor's own UID.
   */
  private static ServeConfig devConfig(Path socket, Path policy) throws IOException {
    DevCaOptions dev = DevCaOptions.of(
        TRUST_DOMAIN, List.of(BACKEND), SVID_TTL, Duration.ofHours(24), Duration.ZERO, SVID_TTL);
    return new ServeConfig(
        Optional.of(dev),
        Optional.empty(),
        Duration.ZERO,
        new GatePolicy(Optional.of(TRUST_DOMAIN), Set.of(BACKEND)),
        UdsServerOptions.of(socket, Set.of(ownUid())),
        Optional.empty(),
        SecretNaming.SPIRE_DEFAULTS,
        false,
        Optional.of(policy),
        Duration.ofSeconds(1),
        AdminOptions.disabled());
  }

  /**
   * Waits until Envoy holds an active {@code default} secret for the backend's SPIFFE ID, with a
   * serial other than {@code notSerial} when given, and its TLS context (/certs) uses it.
   */
  private static Cert awaitDefaultSecret(EnvoyProcess envoy, Optional<BigInteger> notSerial, Duration atMost) {
    String what = notSerial
        .map(s -> "a rotated `" + DEFAULT_SVID_SECRET + "` secret (serial other than " + s.toString(16) + ")")
        .orElse("the `" + DEFAULT_SVID_SECRET + "` secret")
        + " of " + BACKEND + " in dynamic_active_secrets and /certs";
    AtomicReference<Cert> seen = new AtomicReference<>();
    envoy.awaitAdmin(what, atMost, () -> {
      Optional<Cert> secret = envoy.admin().activeSecretLeaf(DEFAULT_SVID_SECRET);
      if (secret.isEmpty() || notSerial.filter(s -> s.equals(secret.get().serial())).isPresent()) {
        return false;
      }
      assertThat(secret.get().uriSans()).as("URI SANs of `%s`", DEFAULT_SVID_SECRET).containsExactly(BACKEND.toString());
      seen.set(secret.get());
      return envoy.admin().certs().contains(secret.get());
    });
    return seen.get();
  }

  private static int ownUid() throws IOException {
    return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
  }
}
