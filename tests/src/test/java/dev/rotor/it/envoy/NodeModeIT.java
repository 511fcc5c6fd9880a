package dev.rotor.it.envoy;

import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN_ID;
import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.testkit.Ports;
import dev.rotor.testkit.TemplateFile;
import dev.rotor.testkit.clients.PlainClient;
import dev.rotor.testkit.envoy.EnvoyAdmin;
import dev.rotor.testkit.envoy.EnvoyAdmin.ActiveSecret;
import dev.rotor.testkit.envoy.EnvoyAdmin.Versioned;
import dev.rotor.testkit.envoy.EnvoyBootstrap;
import dev.rotor.testkit.envoy.EnvoyProcess;
import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.rotor.PushLog;
import dev.rotor.testkit.rotor.PushLog.Response;
import dev.rotor.testkit.rotor.RotorProcess;
import dev.rotor.testkit.spire.SpireFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Node mode with everything real: SPIRE server and agent (the agent serving its Delegated Identity
 * API on its admin socket, Rotor's own SPIFFE ID its one authorized delegate), one {@code rotor
 * serve --node} process, and real Envoys of each tested version, each running as a Unix user of its
 * own, which is what the agent's {@code unix} attestor tells them apart by:
 *
 * <ul>
 *   <li>frontend (uid 4401) and backend (uid 4402), the demo's bootstraps: each gets only its own SVID
 *       and its own policy workload, chosen by the identity SPIRE attested (not the node id), and
 *       frontend-to-backend calls keep working across three rotations, an agent restart and a Rotor
 *       restart with no failed call;
 *   <li>rogue (uid 4403), registered with a SPIFFE ID of its own that the backend does not admit: it
 *       gets its own SVID and workload, no backend listener, and the backend refuses its calls; an
 *       Envoy of the same user claiming the frontend's node id is refused outright (and counted);
 *   <li>an Envoy of a user SPIRE has no entry for (uid 4404) gets nothing.
 * </ul>
 */
@ParameterizedClass(name = "Envoy {0}")
@MethodSource("dev.rotor.testkit.envoy.EnvoyVersions#all")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeModeIT {
  /** Short, so a test sees rotations: the agent renews at half-life, i.e. every ~10 s. */
  private static final Duration SVID_TTL = Duration.ofSeconds(20);
  private static final Duration READY = Duration.ofSeconds(60);
  private static final Duration CALL_PERIOD = Duration.ofMillis(50);
  private static final Duration PROPAGATION_BOUND = Duration.ofSeconds(20);

  private static final String ROTOR_ID = TRUST_DOMAIN_ID + "/rotor/node";
  /** Rotor runs as root with this group, which its registration entry selects. */
  private static final int ROTOR_GID = 4400;
  private static final Caller FRONTEND = new Caller("frontend", TRUST_DOMAIN_ID + "/ns/demo/sa/frontend", 4401);
  private static final Caller BACKEND = new Caller("backend", TRUST_DOMAIN_ID + "/ns/demo/sa/backend", 4402);
  private static final Caller ROGUE = new Caller("rogue", TRUST_DOMAIN_ID + "/ns/demo/sa/rogue", 4403);
  private static final int UNREGISTERED_UID = 4404;

  @RegisterExtension
  static final SpireFixture spire = new SpireFixture().withDelegatedIdentityApi(ROTOR_ID);

  @RegisterExtension
  static final LogsOnFailure logs = new LogsOnFailure();

  /** A workload: a Unix user (uid = gid) whose Envoy SPIRE attests as {@code spiffeId}. */
  private record Caller(String name, String spiffeId, int uid) {}

  private static Path dir;
  private static LocalApps apps;
  private static int backendPort;
  private static int frontendPort;
  private static int roguePort;
  private static List<String> rotorArgs;
  private static RotorProcess rotor;

  // Per Envoy version.
  private static final List<EnvoyProcess> envoys = new ArrayList<>();
  private static EnvoyProcess frontend;
  private static EnvoyProcess backend;
  private static EnvoyProcess rogue;
  private static EnvoyProcess claimer;
  private static EnvoyProcess unregistered;
  /** Rotor's stdout lines before this version's Envoys started: what the checks below must not count. */
  private static int rotorLinesBefore;

  @Parameter
  String envoyVersion;

  @BeforeAll
  static void startSpireAndRotor() throws Exception {
    // Envoys run as other users: their directory (and Rotor's socket) must be reachable by them.
    dir = Files.createTempDirectory(Path.of("/tmp"), "rotor-node-it-");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    spire.createEntry(ROTOR_ID, List.of("unix:uid:0", "unix:gid:" + ROTOR_GID), Duration.ofMinutes(10));
    for (Caller c : List.of(FRONTEND, BACKEND, ROGUE)) {
      spire.createEntry(c.spiffeId(), List.of("unix:uid:" + c.uid()), SVID_TTL);
    }
    apps = LocalApps.start();
    backendPort = Ports.free();
    frontendPort = Ports.free();
    roguePort = Ports.free();
    Path policy = policy().writeTo(dir.resolve("node-policy.yaml"));
    rotorArgs = List.of("--node", "--delegated-identity-api", "unix://" + spire.adminSocket(),
        "--trust-domain", SpireFixture.TRUST_DOMAIN, "--policy", policy.toString());
    rotor = startRotor();
  }

  private static RotorProcess startRotor() {
    RotorProcess r = RotorProcess.serve(dir, "rotor-node", List.of("setpriv", "--regid=" + ROTOR_GID, "--clear-groups"),
        rotorArgs);
    logs.add(r::describe);
    return r;
  }

  @AfterAll
  static void stopRotorAndApps() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {rotor, apps}) {
      if (c != null) {
        c.close();
      }
    }
  }

  /**
   * Backend admits the frontend only. Frontend and rogue each call the backend through a listener
   * of their own; a workload is matched by SPIFFE ID (and, for show, by node id).
   */
  private static TemplateFile policy() {
    return TemplateFile.of("node-policy.yaml", """
        version: 1
        trustDomain: example.org
        workloads:
          - name: backend
            match: { nodeIds: [backend], spiffeIds: [%1$s] }
            inbound:
              port: %4$d
              appPort: %5$d
              protocol: http
              rules:
                - action: allow
                  from: [ { spiffeId: %2$s } ]
          - name: frontend
            match: { nodeIds: [frontend], spiffeIds: [%2$s] }
            outbound:
              - { name: backend, port: %6$d, address: "127.0.0.1:%4$d", spiffeIds: [%1$s] }
          - name: rogue
            match: { nodeIds: [rogue], spiffeIds: [%3$s] }
            outbound:
              - { name: backend, port: %7$d, address: "127.0.0.1:%4$d", spiffeIds: [%1$s] }
        """.formatted(BACKEND.spiffeId(), FRONTEND.spiffeId(), ROGUE.spiffeId(), backendPort, apps.httpPort(),
        frontendPort, roguePort));
  }

  @BeforeParameterizedClassInvocation
  static void startEnvoys(String envoyVersion) throws Exception {
    rotorLinesBefore = rotor.stdoutLines().size();
    Path versionDir = Files.createDirectories(dir.resolve("envoy-" + envoyVersion));
    Files.setPosixFilePermissions(versionDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    backend = start(versionDir, envoyVersion, "backend", BACKEND.uid(), demo("backend-envoy.yaml"));
    frontend = start(versionDir, envoyVersion, "frontend", FRONTEND.uid(), demo("frontend-envoy.yaml"));
    rogue = start(versionDir, envoyVersion, "rogue", ROGUE.uid(),
        demo("frontend-envoy.yaml").replaceOnce("id: frontend", "id: rogue"));
    claimer = start(versionDir, envoyVersion, "rogue-claiming-frontend", ROGUE.uid(), demo("frontend-envoy.yaml"));
    unregistered = start(versionDir, envoyVersion, "unregistered", UNREGISTERED_UID, demo("backend-envoy.yaml"));
    for (EnvoyProcess e : envoys) {
      e.awaitLive(READY);
    }
  }

  @AfterParameterizedClassInvocation
  static void stopEnvoys() {
    envoys.forEach(EnvoyProcess::close);
    envoys.clear();
  }

  private static TemplateFile demo(String file) {
    return EnvoyBootstrap.demo(file, rotor.sdsSocket());
  }

  private static EnvoyProcess start(Path versionDir, String version, String name, int uid, TemplateFile bootstrap) {
    EnvoyProcess envoy = EnvoyProcess.builder(name, version).bootstrap(bootstrap).dir(versionDir).runAs(uid, uid).start();
    envoys.add(envoy);
    logs.add(envoy::describe);
    return envoy;
  }

  // ---- each Envoy gets only what SPIRE attested for it

  @Test
  @Order(1)
  void eachEnvoy_getsOnlyItsOwnSvid_andThePolicyWorkloadOfItsAttestedId() throws Exception {
    awaitServed(frontend, FRONTEND, "outbound_backend");
    awaitServed(backend, BACKEND, "inbound_" + backendPort);
    awaitServed(rogue, ROGUE, "outbound_backend");
    assertThat(rogue.admin().get("/config_dump?resource=dynamic_listeners"))
        .as("the rogue's listener is its own workload's port, not the frontend's")
        .contains("\"port_value\": " + roguePort).doesNotContain("\"port_value\": " + frontendPort);
    for (EnvoyProcess e : List.of(frontend, backend, rogue)) {
      assertThat(e.admin().sumOfStatsEndingWith(".update_rejected")).as("%s: xDS updates rejected", e.name()).isZero();
    }
    // The push log names who SPIRE says each stream's caller is.
    List<Response> pushes = PushLog.responses(linesOfThisVersion());
    for (Caller c : List.of(FRONTEND, BACKEND, ROGUE)) {
      assertThat(pushes).filteredOn(r -> r.node().equals(c.name()) && r.resources().contains("default"))
          .as("`default` pushed to node %s", c.name()).isNotEmpty()
          .allSatisfy(r -> assertThat(r.attestedId()).isEqualTo(c.spiffeId()));
    }
    // /status: one row per attested Envoy, each with the identity SPIRE attested for it.
    String status = get("/status").replaceAll("\\s+", "");
    for (Caller c : List.of(FRONTEND, BACKEND, ROGUE)) {
      assertThat(status).contains("\"node_id\":\"" + c.name() + "\"").contains("\"attested_id\":\"" + c.spiffeId() + "\"");
    }
    // `rotor status`, as an operator runs it: one row per attested Envoy, named by what SPIRE attested.
    dev.rotor.testkit.process.ShortCommand.Result rows = dev.rotor.testkit.process.ShortCommand.run(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", RotorProcess.jar().toString(),
        "status", "--admin", rotor.adminUrl()), Duration.ofSeconds(60)).orThrow();
    for (Caller c : List.of(FRONTEND, BACKEND, ROGUE)) {
      assertThat(rows.output().lines().filter(l -> l.startsWith(c.name() + " ") && l.contains(c.spiffeId() + " (uid="
          + c.uid())).count()).as("rows of `rotor status` for %s:%n%s", c.name(), rows.output()).isEqualTo(1);
    }
    System.out.printf("node mode (Envoy %s): rotor status:%n%s%n%s%n", envoyVersion, rows.output(),
        metricLines("rotor_node_"));
  }

  @Test
  @Order(2)
  void rogue_getsNoBackendListener_andItsCallsToTheBackendAreRefused() throws Exception {
    awaitServed(rogue, ROGUE, "outbound_backend");
    assertThat(names(rogue.admin().activeListeners())).doesNotContain("inbound_" + backendPort);
    for (int i = 0; i < 50; i++) {
      assertThat(PlainClient.httpStatus(roguePort, "/rogue-" + i)).as("rogue call %d", i).isEqualTo(403);
    }
    for (int i = 0; i < 50; i++) {
      assertThat(PlainClient.httpStatus(frontendPort, "/frontend-" + i)).as("frontend call %d", i).isEqualTo(200);
    }
  }

  @Test
  @Order(3)
  void envoyClaimingAnotherNodeId_isRefused_andCounted() throws Exception {
    claimer.awaitAdmin("Rotor refusing node.id frontend from the rogue's user", READY, () ->
        linesOfThisVersion().stream().anyMatch(l -> l.contains("\"event\":\"refused\"") && l.contains("\"node\":\"frontend\"")
            && l.contains(ROGUE.spiffeId())));
    assertThat(claimer.admin().activeSecrets()).isEmpty();
    assertThat(claimer.admin().activeListeners()).isEmpty();
    assertThat(claimer.logLines()).anyMatch(l -> l.contains("names a workload that " + ROGUE.spiffeId()));
    assertThat(metric("rotor_node_refusals_total{reason=\"node_id\"}")).isPositive();
  }

  @Test
  @Order(4)
  void unregisteredUser_getsNothing() throws Exception {
    unregistered.awaitAdmin("Envoy logging Rotor's refusal", READY,
        () -> unregistered.logLines().stream().anyMatch(l -> l.contains("caller not attested")));
    assertThat(unregistered.admin().activeSecrets()).isEmpty();
    assertThat(unregistered.admin().activeListeners()).isEmpty();
    assertThat(names(unregistered.admin().activeClusters())).doesNotContain("local_app");
    assertThat(metric("rotor_uds_connection_refusals_total{reason=\"not_attested\"}")).isPositive();
  }

  // ---- rotation, agent restart, Rotor restart, with calls going on

  @Test
  @Order(5)
  void frontendToBackend_worksAcrossThreeRotations_withNoFailedCall() throws Exception {
    try (CallLoop calls = CallLoop.start(frontendPort, "/rotation", CALL_PERIOD)) {
      Instant since = Instant.now();
      Set<String> seen = new LinkedHashSet<>();
      seen.add(defaultSerial(backend));
      for (int rotation = 1; rotation <= 3; rotation++) {
        Response push = awaitNewDefault(BACKEND, since, seen, SVID_TTL.plus(PROPAGATION_BOUND));
        String serial = push.serials().get(0);
        backend.awaitAdmin("rotation " + rotation + ": serial " + serial + " active", PROPAGATION_BOUND,
            () -> serial.equals(defaultSerial(backend)));
        seen.add(serial);
        since = push.time();
      }
      awaitNewDefault(FRONTEND, Instant.now().minus(SVID_TTL), Set.of(), PROPAGATION_BOUND);
      System.out.printf("node mode rotations (Envoy %s): backend serials %s, %d calls%n", envoyVersion, seen, calls.calls());
      assertThat(calls.answersOtherThan(200)).as("failed calls of %d across 3 rotations", calls.calls()).isEmpty();
    }
  }

  @Test
  @Order(6)
  void agentRestart_envoysKeepServing_andTheNextRotationArrives() throws Exception {
    try (CallLoop calls = CallLoop.start(frontendPort, "/agent-restart", CALL_PERIOD)) {
      Set<String> before = Set.of(defaultSerial(backend));
      spire.killAgent();
      Thread.sleep(2000); // the agent down for a while: Envoys keep their identities and config
      Instant restarted = Instant.now();
      spire.startAgent();
      Response push = awaitNewDefault(BACKEND, restarted, before, SVID_TTL.plus(PROPAGATION_BOUND));
      backend.awaitAdmin("the SVID served after the agent restart active", PROPAGATION_BOUND,
          () -> push.serials().get(0).equals(defaultSerial(backend)));
      System.out.printf("node mode, agent restart (Envoy %s): first SVID pushed %d ms after the agent started%n",
          envoyVersion, Duration.between(restarted, push.time()).toMillis());
      assertThat(calls.answersOtherThan(200)).as("failed calls of %d across an agent restart", calls.calls()).isEmpty();
    }
  }

  @Test
  @Order(7)
  void rotorRestart_envoysReconnect_areAttestedAgain_andKeepWorking() throws Exception {
    try (CallLoop calls = CallLoop.start(frontendPort, "/rotor-restart", CALL_PERIOD)) {
      EnvoyAdmin admin = backend.admin();
      rotor.kill();
      backend.awaitAdmin("ADS disconnected", PROPAGATION_BOUND, () -> admin.stat("control_plane.connected_state") == 0);
      Instant restarted = Instant.now();
      rotor = startRotor();
      for (EnvoyProcess e : List.of(frontend, backend)) {
        e.awaitAdmin("ADS reconnected", PROPAGATION_BOUND, () -> e.admin().stat("control_plane.connected_state") == 1);
      }
      Response push = awaitNewDefault(BACKEND, restarted, Set.of(), SVID_TTL.plus(PROPAGATION_BOUND));
      assertThat(push.attestedId()).isEqualTo(BACKEND.spiffeId());
      int after = calls.calls();
      backend.awaitAdmin("more calls after the restart", PROPAGATION_BOUND, () -> calls.calls() > after + 40);
      assertThat(calls.answersOtherThan(200)).as("failed calls of %d across a Rotor restart", calls.calls()).isEmpty();
    }
    awaitServed(rogue, ROGUE, "outbound_backend");
    assertThat(PlainClient.httpStatus(roguePort, "/after-restart")).isEqualTo(403);
  }

  // ---- helpers

  /** {@code envoy}'s `default` is {@code c}'s SVID and its listeners are exactly {@code listener}. */
  private static void awaitServed(EnvoyProcess envoy, Caller c, String listener) {
    envoy.awaitAdmin(c.name() + "'s SVID and listener " + listener, READY, () ->
        envoy.admin().activeSecretLeaf("default").map(l -> l.uriSans().equals(List.of(c.spiffeId()))).orElse(false)
            && names(envoy.admin().activeListeners()).equals(List.of(listener))
            && envoy.admin().warmingListenerNames().isEmpty());
    try {
      for (ActiveSecret s : envoy.admin().activeSecrets()) {
        s.leaf().ifPresent(leaf -> assertThat(leaf.uriSans()).as("%s holds secret %s", envoy.name(), s.name())
            .containsExactly(c.spiffeId()));
      }
    } catch (Exception e) {
      throw new AssertionError("cannot read " + envoy.name() + "'s secrets", e);
    }
  }

  /** The first push-log `default` to {@code c}'s node since {@code since} whose serial is not in {@code not}. */
  private static Response awaitNewDefault(Caller c, Instant since, Set<String> not, Duration atMost) {
    java.util.concurrent.atomic.AtomicReference<Response> found = new java.util.concurrent.atomic.AtomicReference<>();
    org.awaitility.Awaitility.await("Rotor pushing a new `default` to " + c.name())
        .atMost(atMost).pollInterval(Duration.ofMillis(200)).until(() -> {
          for (Response r : PushLog.responses(rotor.stdoutLines())) {
            if (!r.time().isBefore(since) && r.node().equals(c.name()) && r.resources().contains("default")
                && !r.serials().isEmpty() && !not.contains(r.serials().get(0))) {
              found.set(r);
              return true;
            }
          }
          return false;
        });
    return found.get();
  }

  /** Rotor's stdout since this version's Envoys started (a restarted Rotor appends to the same file). */
  private static List<String> linesOfThisVersion() {
    List<String> all = rotor.stdoutLines();
    return all.subList(Math.min(rotorLinesBefore, all.size()), all.size());
  }

  private static String defaultSerial(EnvoyProcess envoy) throws Exception {
    return envoy.admin().activeSecretLeaf("default").map(EnvoyAdmin.Cert::serialHex).orElse("");
  }

  private static List<String> names(List<Versioned> v) {
    return v.stream().map(Versioned::name).toList();
  }

  private static String get(String path) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(rotor.adminUrl() + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    return r.body();
  }

  /** The value of one sample in Rotor's /metrics, e.g. {@code rotor_node_workloads}. */
  private static double metric(String sample) throws Exception {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(sample) + " (\\S+)$").matcher(get("/metrics"));
    return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
  }

  private static List<String> metricLines(String prefix) throws Exception {
    return get("/metrics").lines().filter(l -> l.startsWith(prefix)).toList();
  }
}
