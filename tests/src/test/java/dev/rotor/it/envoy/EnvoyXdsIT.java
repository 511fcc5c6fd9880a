package dev.rotor.it.envoy;

import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN_ID;
import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.testkit.DemoPolicy;
import dev.rotor.testkit.Ports;
import dev.rotor.testkit.TemplateFile;
import dev.rotor.testkit.clients.PlainClient;
import dev.rotor.testkit.clients.ResumingTlsClient;
import dev.rotor.testkit.envoy.EnvoyAdmin.ActiveSecret;
import dev.rotor.testkit.envoy.EnvoyAdmin.Versioned;
import dev.rotor.testkit.envoy.EnvoyAdmin;
import dev.rotor.testkit.envoy.EnvoyBootstrap;
import dev.rotor.testkit.envoy.EnvoyProcess;
import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.rotor.PushLog.Response;
import dev.rotor.testkit.rotor.PushLog;
import dev.rotor.testkit.rotor.RotorProcess;
import dev.rotor.testkit.spire.SpireFixture;
import dev.rotor.testkit.spire.Workload.SvidFiles;
import dev.rotor.testkit.spire.Workload;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What Rotor promises Envoy, shown by a real Envoy of each tested version, with real SPIRE and one
 * {@code rotor serve --policy} process per workload of the demo (told apart by the SPIRE agent's
 * {@code unix:gid} selector): the demo bootstraps reach LIVE over SotW and delta ADS; an Envoy
 * configured for SPIRE's agent (SDS only) works against Rotor unchanged; rotations reach {@code
 * /certs} and new handshakes with Rotor's version; a secret that does not exist yet is waited
 * for; Envoy survives a Rotor restart without re-warming anything; a policy edit is enforced
 * live; and the admin commands the documentation gives work.
 */
@ParameterizedClass(name = "Envoy {0}")
@MethodSource("dev.rotor.testkit.envoy.EnvoyVersions#all")
class EnvoyXdsIT {
  /** Short, so a test sees rotations: the agent renews at half-life, i.e. every ~10 s. */
  private static final Duration SVID_TTL = Duration.ofSeconds(20);
  private static final Duration READY = Duration.ofSeconds(60);
  private static final Duration CALL_PERIOD = Duration.ofMillis(25);
  /** Generous bounds for what takes a second or two: a failure means "did not happen". */
  private static final Duration PROPAGATION_BOUND = Duration.ofSeconds(15);

  private static final Workload BACKEND = Workload.of("backend", "/ns/demo/sa/backend", 4321);
  private static final Workload FRONTEND = Workload.of("frontend", "/ns/demo/sa/frontend", 4322);
  /** A workload whose second SPIFFE ID is registered only while an Envoy already asks for it. */
  private static final Workload LATE_HOLDER = Workload.of("late-holder", "/sds/first", 4323);
  private static final String LATE_ID = TRUST_DOMAIN_ID + "/sds/late";

  @RegisterExtension
  static final SpireFixture spire = new SpireFixture();

  @RegisterExtension
  static final LogsOnFailure logs = new LogsOnFailure();

  private static Path dir;
  private static LocalApps apps;
  private static int backendPort;
  private static int frontendPort;
  private static Path policy;
  private static List<String> backendArgs;
  private static RotorProcess backendRotor;
  private static RotorProcess frontendRotor;
  private static SvidFiles frontendSvid;

  @Parameter
  String envoyVersion;

  @TempDir
  Path envoyDir;

  @BeforeAll
  static void startSpireAndRotors() throws Exception {
    dir = spire.dir();
    BACKEND.register(spire, SVID_TTL);
    FRONTEND.register(spire, SVID_TTL);
    LATE_HOLDER.register(spire, Duration.ofMinutes(10));
    frontendSvid = FRONTEND.fetchSvid(spire, dir);
    apps = LocalApps.start();
    backendPort = Ports.free();
    frontendPort = Ports.free();
    policy = DemoPolicy.onOneMachine(backendPort, apps.httpPort(), frontendPort, "127.0.0.1:" + backendPort)
        .writeTo(dir.resolve("demo-policy.yaml"));
    backendArgs = rotorArgs(BACKEND, "--policy", policy.toString());
    backendRotor = RotorProcess.serve(dir, "rotor-backend", BACKEND.launcher(), backendArgs);
    logs.add(() -> backendRotor.describe());
    frontendRotor = RotorProcess.serve(dir, "rotor-frontend", FRONTEND.launcher(),
        rotorArgs(FRONTEND, "--policy", policy.toString()));
    logs.add(frontendRotor::describe);
  }

  @AfterAll
  static void stopRotorsAndApps() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {frontendRotor, backendRotor, apps}) {
      if (c != null) {
        c.close();
      }
    }
  }

  private static List<String> rotorArgs(Workload w, String... more) {
    List<String> args = new ArrayList<>(List.of(
        "--workload-api", spire.agentSocketUri(),
        "--trust-domain", SpireFixture.TRUST_DOMAIN,
        "--allowed-uid", Integer.toString(SpireFixture.currentUid())));
    if (w != LATE_HOLDER) {
      args.addAll(List.of("--expect-spiffe-id", w.spiffeId()));
    }
    args.addAll(List.of(more));
    return args;
  }

  // ---- the demo bootstraps

  @Test
  void demoBootstraps_asTheyAre_reachLiveWithRotorsResources_overSotwAds() throws Exception {
    try (DemoEnvoys envoys = DemoEnvoys.start(this, t -> t)) {
      envoys.assertEverythingServedAndNothingRejected();
      assertCallsSucceed("SotW ADS", 100);
    }
  }

  @Test
  void demoBootstraps_withDeltaGrpcAds_getTheSameResources() throws Exception {
    try (DemoEnvoys envoys = DemoEnvoys.start(this, t -> t.replaceOnce("api_type: GRPC", "api_type: DELTA_GRPC"))) {
      envoys.assertEverythingServedAndNothingRejected();
      assertThat(envoys.backend.admin().stat("cluster_manager.cds.update_success")).isPositive();
      assertCallsSucceed("delta ADS", 100);
    }
  }

  // ---- SDS only: an Envoy written for SPIRE's agent

  /**
   * Two Envoys with static listeners and clusters whose TLS contexts name their secrets the way
   * SPIRE's Envoy documentation does for the SPIRE agent (the SVID by its SPIFFE ID, the bundle by
   * {@code spiffe://example.org}, a cluster named {@code spire_agent}), pointed at Rotor's sockets
   * with nothing else changed: the drop-in claim.
   */
  @Test
  void sdsOnly_bootstrapsWrittenForSpiresAgent_workAgainstRotorUnchanged() throws Exception {
    int backendTls = Ports.free();
    int frontendLocal = Ports.free();
    try (EnvoyProcess backend = start("sds-backend", SpireStyleBootstrap.server(
            backendRotor.sdsSocket(), backendTls, BACKEND.spiffeId(), FRONTEND.spiffeId(), apps.httpPort()));
        EnvoyProcess frontend = start("sds-frontend", SpireStyleBootstrap.client(
            frontendRotor.sdsSocket(), frontendLocal, FRONTEND.spiffeId(), BACKEND.spiffeId(), backendTls))) {
      for (EnvoyProcess e : List.of(backend, frontend)) {
        e.awaitLive(READY);
      }
      awaitSecrets(backend, BACKEND.spiffeId(), TRUST_DOMAIN_ID);
      awaitSecrets(frontend, FRONTEND.spiffeId(), TRUST_DOMAIN_ID);
      for (int i = 0; i < 50; i++) {
        assertThat(PlainClient.httpStatus(frontendLocal, "/sds")).as("call %d through SDS-only Envoys", i).isEqualTo(200);
      }
      assertThat(backend.admin().sumOfStatsEndingWith(".update_rejected")).isZero();
      assertThat(frontend.admin().sumOfStatsEndingWith(".update_rejected")).isZero();
    }
  }

  // ---- rotation

  /**
   * For two consecutive rotations of the backend's SVID: the serial Rotor's push log sends reaches
   * Envoy's {@code /certs} and {@code dynamic_active_secrets} with the push log's version, a new
   * TLS handshake with the backend's listener presents it, and no call fails meanwhile.
   */
  @Test
  void rotation_reachesCertsAndConfigDumpWithRotorsVersion_andNewHandshakesUseIt() throws Exception {
    try (DemoEnvoys envoys = DemoEnvoys.start(this, t -> t);
        CallLoop calls = CallLoop.start(frontendPort, "/rotation", CALL_PERIOD)) {
      envoys.assertEverythingServedAndNothingRejected();
      ResumingTlsClient probe = new ResumingTlsClient(frontendSvid, Files.createTempFile(envoyDir, "probe-", ".pem"));
      String current = envoys.backendDefaultSerial();
      Instant since = Instant.now();
      List<Long> latencies = new ArrayList<>();
      for (int rotation = 1; rotation <= 2; rotation++) {
        Response push = awaitPush(backendRotor, "backend", since, current, SVID_TTL.plus(PROPAGATION_BOUND));
        String serial = push.serials().get(0);
        AtomicReference<Instant> seen = new AtomicReference<>();
        envoys.backend.awaitAdmin("serial " + serial + " in /certs and dynamic_active_secrets with version "
            + push.version(), PROPAGATION_BOUND, () -> {
              Optional<ActiveSecret> secret = envoys.backend.admin().activeSecret("default");
              boolean there = secret.isPresent()
                  && secret.get().leaf().map(EnvoyAdmin.Cert::serialHex).orElse("").equals(serial)
                  && envoys.backend.admin().certs().stream().anyMatch(c -> c.serialHex().equals(serial));
              if (there) {
                seen.set(Instant.now());
                assertThat(secret.get().version()).as("version_info of `default` in Envoy").isEqualTo(push.version());
              }
              return there;
            });
        latencies.add(Duration.between(push.time(), seen.get()).toMillis());
        assertThat(probe.serverCertificate(backendPort).getSerialNumber())
            .as("serial a new handshake with the backend listener presents").isEqualTo(new BigInteger(serial, 16));
        current = serial;
        since = push.time();
      }
      System.out.printf("rotation -> backend Envoy /certs (Envoy %s): %s ms after Rotor's push-log line%n",
          envoyVersion, latencies);
      assertThat(calls.answersOtherThan(200)).as("failed calls of %d during two rotations", calls.calls()).isEmpty();
    }
  }

  // ---- a secret that does not exist yet

  @Test
  void secretThatDoesNotExistYet_envoyWaits_thenGetsItWhenItAppears() throws Exception {
    String entry = null;
    try (RotorProcess holder = RotorProcess.serve(envoyDir, "rotor-late", LATE_HOLDER.launcher(), rotorArgs(LATE_HOLDER))) {
      logs.add(holder::describe);
      int port = Ports.free();
      try (EnvoyProcess envoy = start("sds-late", SpireStyleBootstrap.server(
          holder.sdsSocket(), port, LATE_ID, FRONTEND.spiffeId(), apps.httpPort()))) {
        envoy.awaitAdmin("`" + LATE_ID + "` among the secrets Envoy waits for", READY,
            () -> envoy.admin().warmingSecretNames().contains(LATE_ID));
        envoy.awaitAdmin("Rotor logging the name as not existing yet", READY,
            () -> holder.stdoutLines().stream().anyMatch(l -> l.contains("unknown_resource") && l.contains(LATE_ID)));
        assertThat(envoy.admin().activeSecret(LATE_ID)).isEmpty();

        Instant registered = Instant.now();
        entry = spire.createEntry(LATE_ID, List.of("unix:uid:" + SpireFixture.currentUid(), "unix:gid:" + LATE_HOLDER.gid()),
            Duration.ofMinutes(10));
        envoy.awaitAdmin("`" + LATE_ID + "` active in Envoy", Duration.ofSeconds(30),
            () -> envoy.admin().activeSecret(LATE_ID).flatMap(ActiveSecret::leaf).isPresent());
        System.out.printf("secret that did not exist: in Envoy %d ms after its SPIRE entry was created%n",
            Duration.between(registered, Instant.now()).toMillis());
        assertThat(envoy.admin().activeSecretLeaf(LATE_ID).orElseThrow().uriSans()).containsExactly(LATE_ID);
        ResumingTlsClient probe = new ResumingTlsClient(frontendSvid, Files.createTempFile(envoyDir, "probe-", ".pem"));
        assertThat(probe.serverCertificate(port).getSubjectAlternativeNames())
            .as("the listener that waited presents the new SVID").anyMatch(san -> san.contains(LATE_ID));
      }
    } finally {
      if (entry != null) {
        spire.deleteEntry(entry);
      }
    }
  }

  // ---- Rotor restarted under Envoy

  /**
   * Rotor killed (SIGKILL) and started again on the same socket while the frontend calls the
   * backend: Envoy keeps serving on its last configuration, reconnects, and the identical content
   * Rotor sends again modifies, re-warms or drains no listener and no cluster.
   */
  @Test
  void rotorRestart_envoyKeepsServing_reconnects_andNothingIsRewarmed() throws Exception {
    try (DemoEnvoys envoys = DemoEnvoys.start(this, t -> t);
        CallLoop calls = CallLoop.start(frontendPort, "/restart", CALL_PERIOD)) {
      envoys.assertEverythingServedAndNothingRejected();
      EnvoyAdmin admin = envoys.backend.admin();
      Map<String, Long> before = listenerAndClusterChurn(admin);
      long ldsUpdatesBefore = admin.stat("listener_manager.lds.update_success");

      backendRotor.kill();
      envoys.backend.awaitAdmin("ADS disconnected", PROPAGATION_BOUND,
          () -> admin.stat("control_plane.connected_state") == 0);
      int callsWhileDown = calls.calls();
      backendRotor = RotorProcess.serve(dir, "rotor-backend", BACKEND.launcher(), backendArgs);
      envoys.backend.awaitAdmin("ADS reconnected and LDS answered again", Duration.ofSeconds(30),
          () -> admin.stat("control_plane.connected_state") == 1
              && admin.stat("listener_manager.lds.update_success") > ldsUpdatesBefore);
      int callsAfter = calls.calls();
      envoys.backend.awaitAdmin("more calls after the restart", PROPAGATION_BOUND, () -> calls.calls() > callsAfter + 40);

      assertThat(listenerAndClusterChurn(admin)).as("listener and cluster churn across the restart").isEqualTo(before);
      assertThat(admin.stat("listener_manager.total_listeners_draining")).isZero();
      assertThat(admin.stat("listener_manager.total_listeners_warming")).isZero();
      assertThat(calls.answersOtherThan(200)).as("failed calls of %d (%d while Rotor was down or starting)",
          calls.calls(), callsAfter - callsWhileDown).isEmpty();
      envoys.assertEverythingServedAndNothingRejected();
    }
  }

  private static Map<String, Long> listenerAndClusterChurn(EnvoyAdmin admin) throws Exception {
    Map<String, Long> churn = new LinkedHashMap<>();
    for (String stat : List.of("listener_manager.listener_added", "listener_manager.listener_modified",
        "listener_manager.listener_removed", "listener_manager.listener_create_success",
        "listener_manager.listener_in_place_updated", "cluster_manager.cluster_added",
        "cluster_manager.cluster_modified", "cluster_manager.cluster_removed")) {
      churn.put(stat, admin.stat(stat));
    }
    return churn;
  }

  // ---- policy edits

  /**
   * The policy file replaced by rename (as an editor or a ConfigMap update does): the frontend
   * goes from allowed to denied and back, with the time from the rename to Envoy enforcing it.
   */
  @Test
  void policyEdit_reachesEnvoyLive_allowedToDeniedAndBack() throws Exception {
    String original = Files.readString(policy);
    String denying = TemplateFile.of("demo policy", original)
        .replaceOnce("- spiffeId: " + FRONTEND.spiffeId(), "- spiffeId: " + TRUST_DOMAIN_ID + "/ns/demo/sa/nobody")
        .text();
    try (DemoEnvoys envoys = DemoEnvoys.start(this, t -> t);
        CallLoop calls = CallLoop.start(frontendPort, "/policy", Duration.ofMillis(10))) {
      envoys.assertEverythingServedAndNothingRejected();
      envoys.backend.awaitAdmin("a first allowed call", PROPAGATION_BOUND,
          () -> calls.last() != null && calls.last().status() == 200);

      Instant denyAt = replacePolicy(denying);
      Instant denied = awaitAnswer(envoys, calls, denyAt, 403);
      Instant allowAt = replacePolicy(original);
      Instant allowed = awaitAnswer(envoys, calls, allowAt, 200);

      long toDeny = Duration.between(denyAt, denied).toMillis();
      long toAllow = Duration.between(allowAt, allowed).toMillis();
      System.out.printf("policy edit -> real Envoy enforcing it (Envoy %s): deny %d ms, allow again %d ms"
          + "%n", envoyVersion, toDeny, toAllow);
      assertThat(envoys.backend.admin().sumOfStatsEndingWith(".update_rejected")).isZero();
    } finally {
      replacePolicy(original);
    }
  }

  private static Instant replacePolicy(String text) throws Exception {
    Path next = Files.writeString(dir.resolve("demo-policy.yaml.next"), text);
    Instant at = Instant.now();
    Files.move(next, policy, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return at;
  }

  private static Instant awaitAnswer(DemoEnvoys envoys, CallLoop calls, Instant since, int status) {
    envoys.backend.awaitAdmin("a call answered " + status + " after the policy edit", PROPAGATION_BOUND,
        () -> calls.firstSince(since, status).isPresent());
    return calls.firstSince(since, status).orElseThrow().at();
  }

  // ---- the documentation's admin commands

  /**
   * The Envoy-admin commands written in envoy-configs/README.md and deploy/README.md, run as
   * written (the admin address substituted) against the backend's real Envoy, so they cannot rot.
   */
  @Test
  void documentedAdminCommands_runAsWritten_againstARealEnvoy() throws Exception {
    try (DemoEnvoys envoys = DemoEnvoys.start(this, t -> t)) {
      envoys.assertEverythingServedAndNothingRejected();
      assertCallsSucceed("before the documented commands", 5);
      List<DocumentedCommands.Command> commands = DocumentedCommands.envoyAdmin();
      assertThat(commands).as("documented Envoy admin commands found").hasSizeGreaterThanOrEqualTo(7);
      for (DocumentedCommands.Command command : commands) {
        // The SVID rotates every ~10 s here: the serial the command prints is the one before or after it ran.
        BigInteger before = new BigInteger(envoys.backendDefaultSerial(), 16);
        String output = command.run(envoys.backend.admin().hostPort());
        BigInteger after = new BigInteger(envoys.backendDefaultSerial(), 16);
        assertThat(output).as("%s\n%s", command, output).isNotBlank();
        if (command.text().contains("openssl x509")) {
          java.util.regex.Matcher serial = java.util.regex.Pattern.compile("serial=([0-9A-Fa-f]+)").matcher(output);
          assertThat(serial.find()).as("%s prints serial=...: %s", command, output).isTrue();
          assertThat(new BigInteger(serial.group(1), 16)).as("%s", command).isIn(before, after);
          assertThat(output).as("%s", command).contains("URI:" + BACKEND.spiffeId());
        }
        if (command.text().contains("/certs")) {
          assertThat(output).as("%s", command).contains(BACKEND.spiffeId());
        }
      }
    }
  }

  // ---- helpers

  private void assertCallsSucceed(String when, int count) {
    for (int i = 0; i < count; i++) {
      assertThat(PlainClient.httpStatus(frontendPort, "/call-" + i)).as("call %d of %d, %s", i, count, when).isEqualTo(200);
    }
  }

  /**
   * The first push-log response since {@code since} of {@code default} to {@code node} with a
   * serial other than {@code notSerial}.
   */
  private static Response awaitPush(RotorProcess rotor, String node, Instant since, String notSerial, Duration atMost) {
    AtomicReference<Response> found = new AtomicReference<>();
    org.awaitility.Awaitility.await("Rotor pushing a `default` with a serial other than " + notSerial + " to " + node)
        .atMost(atMost)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> {
          for (Response r : PushLog.responses(rotor.stdoutLines())) {
            if (!r.time().isBefore(since) && r.node().equals(node) && r.resources().contains("default")
                && !r.serials().isEmpty()
                && !r.serials().get(0).equals(notSerial)) {
              found.set(r);
              return true;
            }
          }
          return false;
        });
    return found.get();
  }

  private static void awaitSecrets(EnvoyProcess envoy, String... names) {
    envoy.awaitAdmin("active secrets " + List.of(names), READY, () -> {
      List<String> active = envoy.admin().activeSecrets().stream().map(ActiveSecret::name).toList();
      return active.containsAll(List.of(names));
    });
  }

  private EnvoyProcess start(String name, TemplateFile bootstrap) {
    EnvoyProcess envoy = EnvoyProcess.builder(name, envoyVersion).bootstrap(bootstrap).dir(envoyDir).start();
    logs.add(envoy::describe);
    return envoy;
  }

  /** The demo's two Envoys, from envoy-configs/ with only the socket and admin port substituted. */
  private static final class DemoEnvoys implements AutoCloseable {
    final EnvoyProcess backend;
    final EnvoyProcess frontend;

    private DemoEnvoys(EnvoyProcess backend, EnvoyProcess frontend) {
      this.backend = backend;
      this.frontend = frontend;
    }

    static DemoEnvoys start(EnvoyXdsIT test, java.util.function.UnaryOperator<TemplateFile> change) {
      EnvoyProcess backend = test.start("backend", change.apply(EnvoyBootstrap.demo("backend-envoy.yaml", backendRotor.sdsSocket())));
      EnvoyProcess frontend;
      try {
        frontend = test.start("frontend", change.apply(EnvoyBootstrap.demo("frontend-envoy.yaml", frontendRotor.sdsSocket())));
      } catch (RuntimeException e) {
        backend.close();
        throw e;
      }
      DemoEnvoys envoys = new DemoEnvoys(backend, frontend);
      try {
        backend.awaitLive(READY);
        frontend.awaitLive(READY);
        return envoys;
      } catch (RuntimeException | AssertionError e) {
        envoys.close();
        throw e;
      }
    }

    /** Listeners, clusters and secrets as the demo policy says, all ACKed, none rejected. */
    void assertEverythingServedAndNothingRejected() throws Exception {
      backend.awaitAdmin("inbound listener and secrets", READY, () ->
          backend.admin().activeListeners().stream().map(Versioned::name).toList().equals(List.of("inbound_" + backendPort))
              && backend.admin().warmingListenerNames().isEmpty()
              && names(backend.admin().activeSecrets()).containsAll(List.of("default", "ROOTCA")));
      frontend.awaitAdmin("outbound listener, cluster and secrets", READY, () ->
          frontend.admin().activeListeners().stream().map(Versioned::name).toList().equals(List.of("outbound_backend"))
              && frontend.admin().activeClusters().stream().map(Versioned::name).toList().equals(List.of("outbound_backend"))
              && names(frontend.admin().activeSecrets()).containsAll(List.of("default", "ROOTCA")));
      assertThat(backend.admin().activeClusters()).extracting(Versioned::name).containsExactly("local_app");
      assertThat(backend.admin().activeSecretLeaf("default").orElseThrow().uriSans()).containsExactly(BACKEND.spiffeId());
      assertThat(frontend.admin().activeSecretLeaf("default").orElseThrow().uriSans()).containsExactly(FRONTEND.spiffeId());
      for (EnvoyProcess e : List.of(backend, frontend)) {
        assertThat(e.admin().serverState()).isEqualTo("LIVE");
        assertThat(e.admin().sumOfStatsEndingWith(".update_rejected")).as("%s: xDS updates rejected", e.name()).isZero();
      }
    }

    String backendDefaultSerial() throws Exception {
      return backend.admin().activeSecretLeaf("default").orElseThrow().serialHex();
    }

    private static List<String> names(List<ActiveSecret> secrets) {
      return secrets.stream().map(ActiveSecret::name).toList();
    }

    @Override
    public void close() {
      frontend.close();
      backend.close();
    }
  }
}
