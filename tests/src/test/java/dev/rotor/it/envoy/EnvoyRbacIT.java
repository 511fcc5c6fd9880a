package dev.rotor.it.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.it.envoy.ClientEnvoyBootstrap.ResumingServer;
import dev.rotor.it.envoy.ClientEnvoyBootstrap.Route;
import dev.rotor.testkit.Ports;
import dev.rotor.testkit.TemplateFile;
import dev.rotor.testkit.clients.KeepAliveClient;
import dev.rotor.testkit.clients.PlainClient;
import dev.rotor.testkit.clients.ResumingTlsClient.Call;
import dev.rotor.testkit.clients.ResumingTlsClient;
import dev.rotor.testkit.envoy.EnvoyBootstrap;
import dev.rotor.testkit.envoy.EnvoyProcess;
import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.rotor.RotorProcess;
import dev.rotor.testkit.spire.SpireFixture;
import dev.rotor.testkit.spire.Workload.SvidFiles;
import dev.rotor.testkit.spire.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Rotor's generated RBAC, enforced by a real Envoy of each tested version, against clients that
 * resume their TLS sessions: allow, deny (deny wins), trust-domain and SPIFFE-ID-prefix rules, on
 * an HTTP listener (HTTP RBAC filter) and a TCP listener (network RBAC filter).
 *
 * <p>The defect this guards: Envoy evaluates {@code mtls_authenticated} principals as false on a
 * resumed TLS session (envoy#42668), so with resumption on, a frontend Envoy that resumed its
 * session was refused on every request after the first, and a deny rule would not match a resumed
 * session. Rotor's listeners turn resumption off, so every connection is a full handshake and
 * every rule holds (docs/policy.md).
 *
 * <p>Everything is real: SPIRE server and agent, one {@code rotor serve} process per workload
 * (told apart by the agent's {@code unix:gid} selector), the demo's Envoy bootstraps. The
 * clients: the frontend's own Rotor-fed Envoy, a hand-written client Envoy with default TLS
 * settings (it caches and offers its session), and {@code openssl s_client -sess_out/-sess_in}.
 */
@ParameterizedClass(name = "Envoy {0}")
@MethodSource("dev.rotor.testkit.envoy.EnvoyVersions#all")
class EnvoyRbacIT {
  /** Requests per case and client, as the issue that found the defect asks. */
  private static final int CALLS = 200;
  /** Requests for the refused side of an allow rule (another path). */
  private static final int REFUSED_CALLS = 50;
  /** Connections to the resumption control server. */
  private static final int CONTROL_CALLS = 20;
  private static final Duration SVID_TTL = Duration.ofMinutes(10);
  /** The policy's maxConnectionDuration here: its minimum, so a test sees connections end. */
  private static final Duration MAX_CONNECTION_DURATION = Duration.ofSeconds(10);
  private static final Duration READY = Duration.ofSeconds(60);

  private static final Workload BACKEND = Workload.of("backend", "/rbac/backend", 4311);
  private static final Workload FRONTEND = Workload.of("frontend", "/rbac/frontend", 4312);
  private static final Workload BLOCKED = Workload.of("blocked", "/rbac/blocked", 4313);
  private static final Workload OPS = Workload.of("ops", "/rbac/ops/admin", 4314);
  private static final Workload ROGUE = Workload.of("rogue", "/rbac/rogue", 4315);
  private static final List<Workload> CALLERS = List.of(FRONTEND, BLOCKED, OPS, ROGUE);

  @RegisterExtension
  static final SpireFixture spire = new SpireFixture();

  @RegisterExtension
  static final LogsOnFailure logs = new LogsOnFailure();

  private static Path dir;
  private static LocalApps apps;
  private static RotorProcess backendRotor;
  private static RotorProcess frontendRotor;
  private static final Map<Workload, SvidFiles> svids = new TreeMap<>((a, b) -> a.name().compareTo(b.name()));
  private static int httpPort;
  private static int tcpPort;
  private static int frontendHttpPort;

  // Per Envoy version.
  private static final List<EnvoyProcess> envoys = new ArrayList<>();
  private static Path versionDir;
  private static Map<String, Integer> clientPorts;
  private static EnvoyProcess backendHttpEnvoy;
  private static EnvoyProcess backendTcpEnvoy;
  private static EnvoyProcess clientEnvoy;
  private static int controlPort;

  @Parameter
  String envoyVersion;

  @BeforeAll
  static void startSpireWorkloadsAndRotors() throws Exception {
    dir = spire.dir();
    for (Workload w : List.of(BACKEND, FRONTEND, BLOCKED, OPS, ROGUE)) {
      w.register(spire, SVID_TTL);
    }
    for (Workload w : CALLERS) {
      svids.put(w, w.fetchSvid(spire, dir));
    }
    apps = LocalApps.start();
    httpPort = Ports.free();
    tcpPort = Ports.free();
    frontendHttpPort = Ports.free();
    Path policy = policy().writeTo(dir.resolve("rbac-policy.yaml"));
    backendRotor = RotorProcess.serve(dir, "rotor-backend", BACKEND.launcher(), rotorArgs(BACKEND, policy));
    logs.add(backendRotor::describe);
    frontendRotor = RotorProcess.serve(dir, "rotor-frontend", FRONTEND.launcher(), rotorArgs(FRONTEND, policy));
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

  /**
   * HTTP: deny the blocked workload; allow the frontend; allow IDs under {@code /rbac/ops/} on
   * {@code /ops/}; allow the whole trust domain on {@code /health} only. TCP: the same peers with no
   * paths, so the trust-domain rule admits everyone but the blocked workload, and deny must win.
   */
  private static TemplateFile policy() {
    return TemplateFile.of("rbac-policy.yaml", """
        version: 1
        trustDomain: example.org
        maxConnectionDuration: %9$ds
        workloads:
          - name: backend
            match: { nodeIds: [backend] }
            inbound:
              port: %1$d
              appPort: %2$d
              protocol: http
              rules:
                - action: deny
                  from: [ { spiffeId: %5$s } ]
                - action: allow
                  from: [ { spiffeId: %6$s } ]
                - action: allow
                  from: [ { spiffeIdPrefix: spiffe://example.org/rbac/ops/ } ]
                  paths: [/ops/]
                - action: allow
                  from: [ { trustDomain: example.org } ]
                  paths: [=/health]
          - name: tcp-backend
            match: { nodeIds: [tcp-backend] }
            inbound:
              port: %3$d
              appPort: %4$d
              protocol: tcp
              rules:
                - action: deny
                  from: [ { spiffeId: %5$s } ]
                - action: allow
                  from: [ { spiffeId: %6$s } ]
                - action: allow
                  from: [ { spiffeIdPrefix: spiffe://example.org/rbac/ops/ } ]
                - action: allow
                  from: [ { trustDomain: example.org } ]
          - name: frontend
            match: { nodeIds: [frontend] }
            outbound:
              - name: backend
                port: %7$d
                address: 127.0.0.1:%1$d
                spiffeIds: [%8$s]
        """.formatted(httpPort, apps.httpPort(), tcpPort, apps.echoPort(), BLOCKED.spiffeId(),
        FRONTEND.spiffeId(), frontendHttpPort, BACKEND.spiffeId(), MAX_CONNECTION_DURATION.toSeconds()));
  }

  private static List<String> rotorArgs(Workload w, Path policy) {
    return List.of(
        "--workload-api", spire.agentSocketUri(),
        "--trust-domain", SpireFixture.TRUST_DOMAIN,
        "--expect-spiffe-id", w.spiffeId(),
        "--allowed-uid", Integer.toString(SpireFixture.currentUid()),
        "--policy", policy.toString());
  }

  @BeforeParameterizedClassInvocation
  static void startEnvoys(String envoyVersion) throws Exception {
    versionDir = Files.createDirectories(dir.resolve("envoy-" + envoyVersion));
    backendHttpEnvoy = start(EnvoyProcess.builder("backend-http", envoyVersion)
        .bootstrap(EnvoyBootstrap.demo("backend-envoy.yaml", backendRotor.sdsSocket())));
    backendTcpEnvoy = start(EnvoyProcess.builder("backend-tcp", envoyVersion)
        .bootstrap(EnvoyBootstrap.demo("backend-envoy.yaml", backendRotor.sdsSocket())
            .replaceOnce("id: backend", "id: tcp-backend")));
    EnvoyProcess frontend = start(EnvoyProcess.builder("frontend", envoyVersion)
        .bootstrap(EnvoyBootstrap.demo("frontend-envoy.yaml", frontendRotor.sdsSocket())));
    clientPorts = new TreeMap<>();
    ClientEnvoyBootstrap client = new ClientEnvoyBootstrap();
    for (Workload w : CALLERS) {
      for (String kind : List.of("http", "tcp")) {
        String route = w.name() + "-" + kind;
        clientPorts.put(route, Ports.free());
        client.add(new Route(route, clientPorts.get(route), svids.get(w), kind.equals("http") ? httpPort : tcpPort,
            BACKEND.spiffeId()));
      }
    }
    controlPort = Ports.free();
    client.add(new ResumingServer("resuming-server", controlPort, svids.get(ROGUE)));
    clientPorts.put("control", Ports.free());
    client.add(new Route("control", clientPorts.get("control"), svids.get(FRONTEND), controlPort, ROGUE.spiffeId()));
    clientEnvoy = start(EnvoyProcess.builder("client", envoyVersion).bootstrap(client.render()));

    for (EnvoyProcess e : envoys) {
      e.awaitLive(READY);
    }
    awaitListener(backendHttpEnvoy, "inbound_" + httpPort);
    awaitListener(backendTcpEnvoy, "inbound_" + tcpPort);
    awaitListener(frontend, "outbound_backend");
    // Secrets arrive with or before the listeners that name them; the handshakes prove them below.
    assertThat(clientEnvoy.admin().stat("server.live")).isEqualTo(1);
  }

  @AfterParameterizedClassInvocation
  static void stopEnvoys() {
    for (EnvoyProcess e : envoys) {
      e.close();
    }
    envoys.clear();
  }

  private static EnvoyProcess start(EnvoyProcess.Builder builder) {
    EnvoyProcess envoy = builder.dir(versionDir).componentLogLevel("rbac", "debug").start();
    envoys.add(envoy);
    logs.add(envoy::describe);
    return envoy;
  }

  private static void awaitListener(EnvoyProcess envoy, String name) {
    envoy.awaitAdmin("listener " + name + " active", READY,
        () -> envoy.admin().activeListeners().stream().anyMatch(l -> l.name().equals(name)));
  }

  // ---- the clients resume where a server lets them (else the cases below would prove nothing)

  @Test
  void control_bothResumingClients_resumeTheirSessionsWhereTheServerAllowsIt() throws Exception {
    assertAnswers("frontend via the client Envoy to a server that allows resumption, TCP echo", CONTROL_CALLS,
        i -> PlainClient.echo(clientPorts.get("control"), "control").orElse("none"), "control");
    long envoyResumed = clientEnvoy.admin().stat("cluster.control.ssl.session_reused");
    System.out.printf("RBAC control: the client Envoy resumed %d of %d sessions%n", envoyResumed, CONTROL_CALLS);
    assertThat(envoyResumed).as("sessions the client Envoy resumed").isPositive();

    ResumingTlsClient openssl = new ResumingTlsClient(svids.get(FRONTEND),
        Files.createTempFile(versionDir, "session-control-", ".pem"));
    int resumed = 0;
    for (int i = 0; i < CONTROL_CALLS; i++) {
      Call c = openssl.echo(controlPort, "control");
      assertThat(c.answer()).isEqualTo("control");
      resumed += c.resumed() ? 1 : 0;
    }
    System.out.printf("RBAC control: openssl s_client resumed %d of %d sessions%n", resumed, CONTROL_CALLS);
    assertThat(resumed).as("sessions openssl s_client resumed (all but the first)").isEqualTo(CONTROL_CALLS - 1);
  }

  // ---- HTTP listener (HTTP RBAC filter)

  @Test
  void allowRule_theFrontend_isAllowedOnEveryRequest_throughItsOwnEnvoyAndResumingClients() throws Exception {
    assertAnswers("frontend via its Rotor-fed Envoy, GET /data", CALLS,
        i -> Integer.toString(PlainClient.httpStatus(frontendHttpPort, "/data")), "200");
    assertAnswers("frontend via a client Envoy that resumes sessions, GET /data", CALLS,
        i -> Integer.toString(PlainClient.httpStatus(clientPorts.get("frontend-http"), "/data")), "200");
    assertOpensslAnswers(FRONTEND, "GET /data", CALLS, c -> c.httpGet(httpPort, "/data"), "200");
    assertEveryConnectionWasAFullHandshake(backendHttpEnvoy, httpPort);
  }

  @Test
  void denyRule_winsOverTheTrustDomainRule_onEveryRequest() throws Exception {
    assertAnswers("blocked via a client Envoy that resumes sessions, GET /health", CALLS,
        i -> Integer.toString(PlainClient.httpStatus(clientPorts.get("blocked-http"), "/health")), "403");
    assertOpensslAnswers(BLOCKED, "GET /health", CALLS, c -> c.httpGet(httpPort, "/health"), "403");
    assertEveryConnectionWasAFullHandshake(backendHttpEnvoy, httpPort);
  }

  @Test
  void trustDomainRule_admitsAnyIdOfTheDomain_onItsPathOnly() throws Exception {
    assertAnswers("rogue via a client Envoy, GET /health", CALLS,
        i -> Integer.toString(PlainClient.httpStatus(clientPorts.get("rogue-http"), "/health")), "200");
    assertAnswers("rogue via a client Envoy, GET /data", REFUSED_CALLS,
        i -> Integer.toString(PlainClient.httpStatus(clientPorts.get("rogue-http"), "/data")), "403");
    assertOpensslAnswers(ROGUE, "GET /health", CALLS, c -> c.httpGet(httpPort, "/health"), "200");
    assertOpensslAnswers(ROGUE, "GET /data", REFUSED_CALLS, c -> c.httpGet(httpPort, "/data"), "403");
    assertEveryConnectionWasAFullHandshake(backendHttpEnvoy, httpPort);
  }

  @Test
  void spiffeIdPrefixRule_admitsIdsUnderThePrefix_onItsPathOnly() throws Exception {
    assertAnswers("ops via a client Envoy, GET /ops/status", CALLS,
        i -> Integer.toString(PlainClient.httpStatus(clientPorts.get("ops-http"), "/ops/status")), "200");
    assertAnswers("ops via a client Envoy, GET /data", REFUSED_CALLS,
        i -> Integer.toString(PlainClient.httpStatus(clientPorts.get("ops-http"), "/data")), "403");
    assertOpensslAnswers(OPS, "GET /ops/status", CALLS, c -> c.httpGet(httpPort, "/ops/status"), "200");
    assertOpensslAnswers(OPS, "GET /data", REFUSED_CALLS, c -> c.httpGet(httpPort, "/data"), "403");
    assertEveryConnectionWasAFullHandshake(backendHttpEnvoy, httpPort);
  }

  // ---- TCP listener (network RBAC filter)

  @Test
  void tcpListener_allowDenyTrustDomainAndPrefixRules_holdOnEveryConnection() throws Exception {
    for (Workload w : CALLERS) {
      String expected = w == BLOCKED ? "none" : "ping-" + w.name();
      assertAnswers(w.name() + " via a client Envoy, TCP echo", CALLS,
          i -> PlainClient.echo(clientPorts.get(w.name() + "-tcp"), "ping-" + w.name()).orElse("none"), expected);
      assertOpensslAnswers(w, "TCP echo", CALLS, c -> c.echo(tcpPort, "ping-" + w.name()), expected);
    }
    assertEveryConnectionWasAFullHandshake(backendTcpEnvoy, tcpPort);
  }

  // ---- connection lifetime

  /**
   * A client that keeps one HTTP/1.1 connection through the frontend's Envoy for as long as it is
   * allowed: the backend's listener closes it gracefully once it is maxConnectionDuration old
   * ({@code Connection: close} on the next answer, or closing it while idle), the client carries
   * on with a new connection, and no request fails. The upstream TLS connection lives and dies with
   * the client's (the frontend's listener is a TCP proxy), so no TLS connection gets older than the
   * bound, which the policy keeps under a quarter of the SVID lifetime.
   */
  @Test
  void connectionLifetime_aLongLivedConnectionIsClosedGracefullyAtTheBound_andNoRequestFails() throws Exception {
    long reachedBefore = backendHttpEnvoy.admin().stat("http.inbound_" + httpPort + ".downstream_cx_max_duration_reached");
    java.util.concurrent.ScheduledExecutorService loop = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try (KeepAliveClient client = new KeepAliveClient(frontendHttpPort)) {
      java.util.concurrent.atomic.AtomicInteger sent = new java.util.concurrent.atomic.AtomicInteger();
      loop.scheduleWithFixedDelay(() -> client.get("/long-" + sent.incrementAndGet()), 0, 200,
          java.util.concurrent.TimeUnit.MILLISECONDS);
      backendHttpEnvoy.awaitAdmin("two connections closed by the client's keep-alive loop",
          MAX_CONNECTION_DURATION.multipliedBy(4), () -> client.closedConnections().size() >= 2);
      loop.shutdown();
      assertThat(loop.awaitTermination(15, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

      List<KeepAliveClient.Connection> closed = client.closedConnections();
      System.out.printf("connection lifetime (Envoy %s, maxConnectionDuration %s): %d requests, closed connections"
              + " lived %s ms (closed with Connection: close: %s), %d requests sent again after an idle close%n",
          envoyVersion, MAX_CONNECTION_DURATION, sent.get(),
          closed.stream().map(c -> c.age().toMillis()).toList(),
          closed.stream().map(KeepAliveClient.Connection::closedWithHeader).toList(), client.retries());
      assertThat(client.failures()).as("failed requests of %d", sent.get()).isEmpty();
      assertThat(closed).allSatisfy(c -> assertThat(c.age())
          .as("age of a connection the server closed").isBetween(MAX_CONNECTION_DURATION.minusSeconds(1),
              MAX_CONNECTION_DURATION.plusSeconds(5)));
    } finally {
      loop.shutdownNow();
    }
    assertThat(backendHttpEnvoy.admin().stat("http.inbound_" + httpPort + ".downstream_cx_max_duration_reached"))
        .as("connections Envoy closed for their age").isGreaterThanOrEqualTo(reachedBefore + 2);
  }

  // ---- checks

  /** Makes {@code calls} calls and requires every answer to be {@code expected}. */
  private static void assertAnswers(String what, int calls, IntFunction<String> call, String expected) {
    Map<String, Integer> answers = new TreeMap<>();
    for (int i = 0; i < calls; i++) {
      answers.merge(call.apply(i), 1, Integer::sum);
    }
    System.out.printf("RBAC %s: %s%n", what, answers);
    assertThat(answers).as("answers of %d calls: %s", calls, what).isEqualTo(Map.of(expected, calls));
  }

  /**
   * {@code calls} connections by one openssl client that saves any session the server gives it
   * and offers it on the next connection; every answer must be {@code expected} and no session
   * resumed. (Rotor's listeners issue no session tickets, so the client has none to offer; the
   * control test shows the same client resuming where the server allows it.)
   */
  private void assertOpensslAnswers(Workload w, String what, int calls,
      java.util.function.Function<ResumingTlsClient, Call> call, String expected) throws Exception {
    ResumingTlsClient client = new ResumingTlsClient(svids.get(w),
        Files.createTempFile(versionDir, "session-" + w.name() + "-", ".pem"));
    Map<String, Integer> answers = new TreeMap<>();
    int offered = 0;
    int resumed = 0;
    for (int i = 0; i < calls; i++) {
      Call c = call.apply(client);
      answers.merge(c.answer(), 1, Integer::sum);
      offered += c.offeredSession() ? 1 : 0;
      resumed += c.resumed() ? 1 : 0;
    }
    System.out.printf("RBAC %s via openssl s_client (session offered %d times, resumed %d): %s%n",
        w.name() + " " + what, offered, resumed, answers);
    assertThat(answers).as("answers of %d connections: %s, %s", calls, w.name(), what).isEqualTo(Map.of(expected, calls));
    assertThat(resumed).as("sessions the server resumed").isZero();
  }

  /** The listener's own counters: handshakes happened, none of them resumed a session. */
  private static void assertEveryConnectionWasAFullHandshake(EnvoyProcess envoy, int port) throws Exception {
    String prefix = "listener.0.0.0.0_" + port + ".ssl.";
    long handshakes = envoy.admin().stat(prefix + "handshake");
    long reused = envoy.admin().stat(prefix + "session_reused");
    System.out.printf("RBAC %s listener %d: %d handshakes, %d sessions reused%n", envoy.name(), port, handshakes, reused);
    assertThat(handshakes).as(prefix + "handshake").isPositive();
    assertThat(reused).as(prefix + "session_reused").isZero();
  }
}
