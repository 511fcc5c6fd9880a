package dev.rotor.testkit.demo;

import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN_ID;
import static java.util.Objects.requireNonNull;

import dev.rotor.testkit.DemoPolicy;
import dev.rotor.testkit.Ports;
import dev.rotor.testkit.envoy.EnvoyAdmin;
import dev.rotor.testkit.envoy.EnvoyAdmin.ActiveSecret;
import dev.rotor.testkit.envoy.EnvoyAdmin.Versioned;
import dev.rotor.testkit.envoy.EnvoyBootstrap;
import dev.rotor.testkit.envoy.EnvoyProcess;
import dev.rotor.testkit.postgres.PostgresFixture;
import dev.rotor.testkit.process.OsUser;
import dev.rotor.testkit.rotor.RotorFileWriter;
import dev.rotor.testkit.rotor.RotorProcess;
import dev.rotor.testkit.spire.SpireFixture;
import dev.rotor.testkit.spire.Workload;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The seed story on one machine, every part real: SPIRE (server and agent, short SVIDs and a CA
 * short enough to rotate while it runs), the demo's four identities told apart by the agent's
 * {@code unix} attestor, a {@code rotor serve --policy} and an Envoy from the demo bootstraps for
 * the frontend and for the backend, the demo backend reading PostgreSQL over SVID mTLS with the
 * files its Rotor writes ({@code --helper-config}), PostgreSQL with its certificate from {@code
 * rotor write-certs} (SIGHUP on every rotation), and the demo frontend calling the backend through
 * its Envoy. The Kubernetes demo's files are used as they are, paths and ports substituted
 * ({@link DeployFiles}, {@link DemoPolicy}).
 *
 * <p>The one definition of the local stack: the end-to-end test ({@code DemoEndToEndIT}) checks
 * it and {@code deploy/local/run.sh} shows it to people ({@link LocalDemoMain}).
 *
 * <pre>
 *  demo frontend ─http─► frontend Envoy ─mTLS─► backend Envoy ─http─► demo backend ─TLS (SVID files)─► PostgreSQL
 *                            ▲ SDS/ADS               ▲ SDS/ADS             ▲ files                          ▲ files, SIGHUP
 *                     rotor (frontend)        rotor (backend, --helper-config) ───────┘         rotor write-certs (postgres)
 *                            └────────────── SPIRE agent (Workload API) ──────────────────────────────────┘
 * </pre>
 *
 * <p>Everything runs as root (the agent's {@code unix} attestor tells the workloads apart by their
 * group, {@code setpriv --regid}; PostgreSQL and its writer run as the {@code postgres} user).
 * Every process is reaped on {@link #close}, or by a JVM shutdown hook.
 */
public final class LocalDemoStack implements AutoCloseable {
  public static final Workload FRONTEND = Workload.of("frontend", "/ns/demo/sa/frontend", 4411);
  public static final Workload BACKEND = Workload.of("backend", "/ns/demo/sa/backend", 4412);
  /** A valid SVID of the trust domain with the wrong SPIFFE ID: the backend must refuse it. */
  public static final Workload ROGUE = Workload.of("rogue", "/ns/demo/sa/rogue", 4413);
  public static final String DATABASE_ID = TRUST_DOMAIN_ID + "/ns/demo/sa/postgres";
  /** The host the backend connects to PostgreSQL by: a DNS SAN of the database's SVID (verify-full). */
  public static final String DATABASE_HOST = "localhost";
  /** The backend's first DNS name, which SPIRE puts in the CN and pg_ident.conf maps to the role. */
  public static final String BACKEND_COMMON_NAME = "backend";

  private static final Duration READY = Duration.ofSeconds(90);
  /**
   * SPIRE's agent renews an SVID once half its life (TTL plus the 10 s SPIRE back-dates it by) has
   * passed, checking every 5 s: so a certificate in use has at least about half its TTL left
   * (measured with 20 s SVIDs: 10.2 s, which a connection closed at a 10 s bound outlived).
   */
  private static final Duration MIN_SVID_TTL = Duration.ofSeconds(30);

  /**
   * @param svidTtl every identity's X.509-SVID TTL (SPIRE renews at about half of it)
   * @param caTtl SPIRE's {@code ca_ttl}: the next CA is prepared at half of it and takes over at
   *     five sixths; SVIDs longer than a sixth of it are cut short at the CA's expiry
   * @param callInterval the demo frontend's {@code CALL_INTERVAL} (and {@code CALL_TIMEOUT})
   * @param envoyVersion the Envoy both sidecars run
   */
  public record Options(Duration svidTtl, Duration caTtl, Duration callInterval, String envoyVersion) {
    public Options {
      requireNonNull(svidTtl, "svidTtl");
      requireNonNull(caTtl, "caTtl");
      requireNonNull(callInterval, "callInterval");
      requireNonNull(envoyVersion, "envoyVersion");
      if (svidTtl.compareTo(MIN_SVID_TTL) < 0 || caTtl.dividedBy(6).compareTo(MIN_SVID_TTL) < 0) {
        throw new IllegalArgumentException("svidTtl " + svidTtl.toSeconds() + "s, caTtl " + caTtl.toSeconds()
            + "s (expected: svidTtl >= "
            + MIN_SVID_TTL.toSeconds() + "s and caTtl >= " + MIN_SVID_TTL.multipliedBy(6).toSeconds() + "s: a"
            + " certificate in use may have only half its life left, and the policy's shortest"
            + " maxConnectionDuration, 10s, plus the time a close takes must fit in that)");
      }
    }

    /**
     * The shortest life an SVID gets: its TTL, or a sixth of the CA's TTL when that is shorter,
     * since SPIRE cuts SVIDs short at the CA's expiry and a new CA takes over at five sixths.
     */
    public Duration shortestSvid() {
      Duration sixth = caTtl.dividedBy(6);
      return sixth.compareTo(svidTtl) < 0 ? sixth : svidTtl;
    }

    /**
     * The policy's {@code maxConnectionDuration} for these SVIDs: a quarter of the shortest SVID
     * life, as the Kubernetes demo has it (30s for 2-minute SVIDs), and no less than the 10s the
     * policy allows. A connection is made with a certificate that has about half its life left,
     * or more, and ends (at the bound plus the time a close takes) before that certificate expires.
     */
    public Duration maxConnectionDuration() {
      Duration quarter = Duration.ofSeconds(shortestSvid().dividedBy(4).toSeconds());
      return quarter.compareTo(Duration.ofSeconds(10)) < 0 ? Duration.ofSeconds(10) : quarter;
    }
  }

  private final Options options;
  private final Consumer<String> progress;
  private final SpireFixture spire;
  private final Deque<AutoCloseable> started = new ArrayDeque<>();
  private final List<Supplier<String>> logs = new ArrayList<>();
  private Path dir;
  private Path policy;
  private int backendPort;
  private int appPort;
  private int frontendPort;
  private RotorProcess frontendRotor;
  private RotorProcess backendRotor;
  private Path backendDbFiles;
  private PostgresFixture postgres;
  private RotorFileWriter databaseWriter;
  private EnvoyProcess frontendEnvoy;
  private EnvoyProcess backendEnvoy;
  private DemoApp backendApp;
  private DemoApp frontendApp;
  private boolean failed;

  private LocalDemoStack(Options options, Consumer<String> progress) {
    this.options = options;
    this.progress = progress;
    this.spire = new SpireFixture()
        .withServerSetting("ca_ttl", seconds(options.caTtl()))
        .withServerSetting("default_x509_svid_ttl", seconds(options.svidTtl()));
  }

  /** Starts everything, in order, each step waited for (bounded); {@code progress} hears each step. */
  public static LocalDemoStack start(Options options, Consumer<String> progress) {
    LocalDemoStack stack = new LocalDemoStack(requireNonNull(options, "options"), requireNonNull(progress, "progress"));
    try {
      stack.startAll();
      return stack;
    } catch (RuntimeException | Error e) {
      stack.markFailed();
      stack.close();
      throw e;
    }
  }

  private void startAll() {
    step("SPIRE server and agent (ca_ttl " + seconds(options.caTtl()) + ")", () -> {
      spire.start();
      started.push(spire);
      dir = spire.dir();
      logs.add(spire::describe);
    });
    OsUser postgresUser = OsUser.lookup("postgres");
    step("registration entries: frontend, backend, database, rogue (X.509-SVID TTL " + seconds(options.svidTtl()) + ")",
        () -> register(postgresUser));

    backendPort = Ports.free();
    appPort = Ports.free();
    frontendPort = Ports.free();
    policy = DemoPolicy.onOneMachine(backendPort, appPort, frontendPort, "127.0.0.1:" + backendPort,
        options.maxConnectionDuration()).writeTo(dir.resolve("demo-policy.yaml"));
    backendDbFiles = createDirectory(dir.resolve("db-tls"));

    step("PostgreSQL cluster (initdb), and a Rotor for the frontend and one for the backend", () -> {
      // initdb and two JVM starts overlap: most of each is waiting or single-threaded.
      CompletableFuture<PostgresFixture> cluster = CompletableFuture.supplyAsync(
          () -> PostgresFixture.create(DeployFiles.postgresSetup()));
      try {
        frontendRotor = track(RotorProcess.serve(dir, "rotor-frontend", FRONTEND.launcher(), rotorArgs(FRONTEND)));
        logs.add(frontendRotor::describe);
        Path helper = DeployFiles.backendHelper(spire.agentSocketUri(), backendDbFiles)
            .writeTo(dir.resolve("helper-backend.conf"));
        backendRotor = track(RotorProcess.serve(dir, "rotor-backend", BACKEND.launcher(),
            rotorArgs(BACKEND, "--helper-config", helper.toString())));
        logs.add(backendRotor::describe);
      } finally {
        postgres = cluster.join();
        started.push(postgres);
        logs.add(postgres::describe);
      }
    });

    step("rotor write-certs for PostgreSQL (as postgres), then PostgreSQL on its certificate", () -> {
      Path helper = DeployFiles.postgresHelper(spire.agentSocketUri(), postgres.certDir(),
          postgres.postmasterPidFile(), Ports.free()).writeTo(postgres.dir().resolve("helper.conf"));
      postgresUser.chown(helper);
      databaseWriter = track(RotorFileWriter.start("rotor-writer-postgres", helper, dir, postgresUser));
      logs.add(databaseWriter::describe);
      databaseWriter.awaitFiles(List.of(postgres.serverCertFile(), postgres.serverKeyFile(), postgres.serverCaFile()),
          READY);
      postgres.start();
    });

    step("Envoy " + options.envoyVersion() + " for the backend and the frontend (demo bootstraps)", () -> {
      backendEnvoy = track(EnvoyProcess.builder("backend", options.envoyVersion())
          .bootstrap(EnvoyBootstrap.demo("backend-envoy.yaml", backendRotor.sdsSocket())).dir(dir).start());
      logs.add(backendEnvoy::describe);
      frontendEnvoy = track(EnvoyProcess.builder("frontend", options.envoyVersion())
          .bootstrap(EnvoyBootstrap.demo("frontend-envoy.yaml", frontendRotor.sdsSocket())).dir(dir).start());
      logs.add(frontendEnvoy::describe);
      awaitConfigured(backendEnvoy, "inbound_" + backendPort);
      awaitConfigured(frontendEnvoy, "outbound_backend");
    });

    step("demo backend (PostgreSQL over SVID mTLS from the files the backend's Rotor writes)", () -> {
      databaseWriter.checkAlive("starting the backend");
      backendApp = track(DemoApp.start("backend", backendEnvironment(), dir));
      logs.add(backendApp::describe);
      backendApp.await("listening on 127.0.0.1:" + appPort, READY, () -> Ports.accepts(appPort));
    });

    step("demo frontend (calls the backend through its Envoy every " + options.callInterval().toMillis() + " ms)", () -> {
      frontendApp = track(DemoApp.start("frontend", frontendEnvironment(), dir));
      logs.add(frontendApp::describe);
      frontendApp.await("a first successful call", READY, () -> FrontendCalls.read(frontendApp.stdout()).stream()
          .anyMatch(FrontendCalls.Call::ok));
    });
  }

  private void register(OsUser postgresUser) {
    FRONTEND.register(spire, options.svidTtl());
    BACKEND.register(spire, options.svidTtl(), List.of(BACKEND_COMMON_NAME, "backend.demo.svc.cluster.local"));
    ROGUE.register(spire, options.svidTtl());
    spire.createEntry(DATABASE_ID, postgresUser.spireSelectors(), options.svidTtl(), List.of(DATABASE_HOST));
    try {
      // The writer running as postgres must reach the agent's socket (the socket itself is 0777).
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + dir + " to the postgres user", e);
    }
  }

  private List<String> rotorArgs(Workload w, String... more) {
    List<String> args = new ArrayList<>(List.of(
        "--workload-api", spire.agentSocketUri(),
        "--trust-domain", SpireFixture.TRUST_DOMAIN,
        "--expect-spiffe-id", w.spiffeId(),
        // Envoy runs as this process's user (root here; UID 101 in the pods).
        "--allowed-uid", Integer.toString(SpireFixture.currentUid()),
        "--policy", policy.toString()));
    args.addAll(List.of(more));
    return args;
  }

  /** The Kubernetes demo's backend environment (deploy/kustomize/base/demo/backend.yaml), local paths and ports. */
  private Map<String, String> backendEnvironment() {
    return Map.of(
        "BACKEND_LISTEN", "127.0.0.1:" + appPort,
        "DB_SERVER", DATABASE_HOST + ":" + postgres.port(),
        "DB_NAME", postgres.setup().database(),
        "DB_USER", postgres.setup().role(),
        "DB_SSL_CERT", backendDbCertFile().toString(),
        "DB_SSL_KEY", backendDbKeyFile().toString(),
        "DB_SSL_ROOT_CERT", backendDbCaFile().toString(),
        // HikariCP's floor; the backend also retires its connections when the certificate file changes.
        "DB_POOL_MAX_LIFETIME", "30s");
  }

  private Map<String, String> frontendEnvironment() {
    String interval = options.callInterval().toMillis() + "ms";
    return Map.of(
        "BACKEND_URL", "http://127.0.0.1:" + frontendPort + "/api/demo",
        "FRONTEND_LISTEN", "127.0.0.1:" + Ports.free(),
        "CALL_INTERVAL", interval,
        "CALL_TIMEOUT", interval);
  }

  /** The workload's listener active, nothing warming, and the secrets it names received. */
  private static void awaitConfigured(EnvoyProcess envoy, String listener) {
    envoy.awaitLive(READY);
    envoy.awaitAdmin("listener " + listener + " active with secrets default and ROOTCA", READY, () -> {
      EnvoyAdmin admin = envoy.admin();
      return admin.activeListeners().stream().map(Versioned::name).toList().contains(listener)
          && admin.warmingListenerNames().isEmpty()
          && admin.activeSecrets().stream().map(ActiveSecret::name).toList().containsAll(List.of("default", "ROOTCA"));
    });
  }

  // ---- what observers and checks need

  public Options options() {
    return options;
  }

  public SpireFixture spire() {
    return spire;
  }

  /** Where logs, rendered files and sockets are (SPIRE's fixture directory). */
  public Path dir() {
    return dir;
  }

  public Path policyFile() {
    return policy;
  }

  /** The backend Envoy's mTLS listener (the policy's inbound port). */
  public int backendPort() {
    return backendPort;
  }

  /** The frontend Envoy's outbound listener on 127.0.0.1, which the frontend calls (plain HTTP). */
  public int frontendPort() {
    return frontendPort;
  }

  public RotorProcess frontendRotor() {
    return frontendRotor;
  }

  public RotorProcess backendRotor() {
    return backendRotor;
  }

  public EnvoyProcess frontendEnvoy() {
    return frontendEnvoy;
  }

  public EnvoyProcess backendEnvoy() {
    return backendEnvoy;
  }

  public PostgresFixture postgres() {
    return postgres;
  }

  /** The directory where the backend's Rotor writes the database client files (helper-backend.conf's cert_dir). */
  public Path backendDbFiles() {
    return backendDbFiles;
  }

  /** The backend's database client certificate chain (helper-backend.conf's svid_file_name). */
  public Path backendDbCertFile() {
    return backendDbFile("svid_file_name");
  }

  /** The backend's database client key as PKCS#8 DER, what pgjdbc reads (pkcs8_der_key_file_name). */
  public Path backendDbKeyFile() {
    return backendDbFile("pkcs8_der_key_file_name");
  }

  /** The trust bundle the backend verifies PostgreSQL with (svid_bundle_file_name). */
  public Path backendDbCaFile() {
    return backendDbFile("svid_bundle_file_name");
  }

  private Path backendDbFile(String setting) {
    return backendDbFiles.resolve(DeployFiles.setting(DeployFiles.backendHelper(spire.agentSocketUri(), backendDbFiles),
        setting));
  }

  /** The demo frontend's JSON-lines log: one line per call. */
  public Path frontendLog() {
    return frontendApp.stdout();
  }

  /** Throws, with its output, if any process of the stack has exited. */
  public void checkAlive(String whileDoing) {
    frontendApp.checkAlive(whileDoing);
    backendApp.checkAlive(whileDoing);
    databaseWriter.checkAlive(whileDoing);
    for (EnvoyProcess envoy : List.of(frontendEnvoy, backendEnvoy)) {
      if (!envoy.isAlive()) {
        throw new IllegalStateException(envoy.name() + " exited while " + whileDoing + "\n" + envoy.describe());
      }
    }
    for (RotorProcess rotor : List.of(frontendRotor, backendRotor)) {
      if (!rotor.isAlive()) {
        throw new IllegalStateException("a Rotor exited while " + whileDoing + "\n" + rotor.describe());
      }
    }
  }

  /** The ends of every process's logs. */
  public String describe() {
    StringBuilder out = new StringBuilder();
    logs.forEach(log -> out.append(log.get()));
    return out.toString();
  }

  /** Makes {@link #close} keep the directories and print SPIRE's and PostgreSQL's logs. */
  public void markFailed() {
    failed = true;
    spire.markFailed();
    if (postgres != null) {
      postgres.markFailed();
    }
  }

  /** Stops everything it started, newest first. */
  @Override
  public void close() {
    while (!started.isEmpty()) {
      AutoCloseable next = started.pop();
      try {
        next.close();
      } catch (Exception e) {
        System.err.println("cannot stop " + next + ": " + e);
      }
    }
    if (failed && dir != null) {
      System.err.println("local demo stack: logs kept in " + dir);
    }
  }

  // ---- helpers

  private void step(String what, Runnable action) {
    long start = System.nanoTime();
    progress.accept("starting " + what + " ...");
    action.run();
    progress.accept(String.format(Locale.ROOT, "  ok (%.1f s)", (System.nanoTime() - start) / 1e9));
  }

  private <T extends AutoCloseable> T track(T process) {
    started.push(process);
    return process;
  }

  private static Path createDirectory(Path path) {
    try {
      return Files.createDirectories(path);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + path, e);
    }
  }

  private static String seconds(Duration d) {
    return d.toSeconds() + "s";
  }
}
