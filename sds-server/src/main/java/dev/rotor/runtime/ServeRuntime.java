package dev.rotor.runtime;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import dev.rotor.admin.AdminServer;
import dev.rotor.admin.Readiness;
import dev.rotor.admin.StatusReport;
import dev.rotor.cli.RotorMain;
import dev.rotor.cli.UsageException;
import dev.rotor.config.AggregatedDiscoveryService;
import dev.rotor.config.ClusterDiscoveryService;
import dev.rotor.config.ListenerDiscoveryService;
import dev.rotor.config.PolicyResources;
import dev.rotor.config.ServingState;
import dev.rotor.csds.ClientStatusService;
import dev.rotor.gate.IdentityGate;
import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyError;
import dev.rotor.policy.PolicyException;
import dev.rotor.policywatch.PolicyWatcher;
import dev.rotor.xds.envoy.SdsSecretConfigs;
import dev.rotor.xds.envoy.WorkloadResourcesBuilder;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.metrics.FileWriterCounters;
import dev.rotor.metrics.RotorMetrics;
import dev.rotor.node.NodeMode;
import dev.rotor.node.NodeOptions;
import dev.rotor.node.NodeServing;
import dev.rotor.protocol.Caller;
import dev.rotor.protocol.ResourceStore;
import dev.rotor.protocol.StoreProvider;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.protocol.XdsStreamFactory;
import dev.rotor.pushlog.PushLog;
import dev.rotor.sds.SecretDiscoveryService;
import dev.rotor.sds.SecretState;
import dev.rotor.status.RotationConvergence;
import dev.rotor.status.StreamRegistry;
import dev.rotor.status.StreamStatus;
import dev.rotor.source.IdentitySource;
import dev.rotor.source.dev.DevCaSource;
import dev.rotor.source.workload.WorkloadApiAddress;
import dev.rotor.source.workload.WorkloadApiSource;
import dev.rotor.transport.TcpMtlsServer;
import dev.rotor.transport.TransportStartException;
import dev.rotor.transport.UdsServer;
import dev.rotor.xds.secret.SecretCatalog;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.spiffe.spiffeid.SpiffeId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running {@code rotor serve}: identity source → gate → secret catalog → resource store → SDS
 * streams on the Unix socket (and TCP with mTLS when asked), with per-stream status, metrics, CSDS
 * and the admin endpoint beside them. Closing it stops accepting streams, ends the open ones with
 * UNAVAILABLE and stops the source.
 */
public final class ServeRuntime implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ServeRuntime.class);
  private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);

  private final ServeConfig config;
  private final ScheduledExecutorService scheduler;
  private final ExecutorService xdsPool;
  private final ResourceStore store;
  private final IdentityGate gate;
  private final AtomicLong generation = new AtomicLong();
  /** What the gate serves now; read by the TCP transport's key and trust managers per handshake. */
  private final java.util.concurrent.atomic.AtomicReference<IdentitySnapshot> served =
      new java.util.concurrent.atomic.AtomicReference<>();
  private final CountDownLatch stop = new CountDownLatch(1);
  private final java.util.concurrent.atomic.AtomicLong policyRejections = new java.util.concurrent.atomic.AtomicLong();
  private final AtomicLong policyReloads = new AtomicLong();
  // Operations: per-stream status (for /status, CSDS, metrics), rotation convergence, metrics.
  private final Clock clock = Clock.systemUTC();
  private final RotorMetrics metrics;
  private final RotationConvergence convergence;
  private final StreamRegistry streamRegistry;
  private final Readiness readiness;
  private final ClientStatusService csds;
  /** Node mode: every caller attested, each workload served from its own store; empty otherwise. */
  private final Optional<NodeMode> node;
  /** Counters of the file writer, when one runs in this process; zeros until then. */
  private volatile FileWriterCounters fileWriterCounters = FileWriterCounters.NONE;
  private volatile boolean stopping;
  /** The content version of the policy in force, for /readyz and /status (read without the lock). */
  private volatile Optional<String> servedPolicyVersion = Optional.empty();
  private XdsStreamFactory streams;
  private AdminServer admin;
  // Guarded by "this": the inputs of the served state, combined by republish().
  private SecretCatalog catalog = SecretCatalog.EMPTY;
  private Optional<PolicyResources> policyResources = Optional.empty();
  /** Policy version and SVID lifetime last warned about (guarded by this). */
  private String connectionWarningKey = "";
  private long identityChangedAt = System.nanoTime();
  private Optional<SpiffeId> lastOwnId = Optional.empty();
  private IdentitySource source;
  private PolicyWatcher policyWatcher;
  private UdsServer uds;
  private TcpMtlsServer tcp;
  /** Writes what is served to files when --helper-config is given; set before the source starts. */
  private volatile dev.rotor.files.FileWriterService fileWriter;
  private boolean closed;

  private ServeRuntime(ServeConfig config) {
    this.config = requireNonNull(config, "config");
    this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("rotor-scheduler"));
    this.xdsPool = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
        daemon("rotor-xds-%d"));
    this.store = new ResourceStore(new ServingState(0, System.nanoTime(),
        SecretState.initial(config.spiffeValidationDisabled()), Optional.empty(), Optional.empty()));
    this.gate = new IdentityGate(config.gatePolicy(), Clock.systemUTC(), scheduler, this::serve);
    this.readiness = config.node().isPresent()
        ? new Readiness(this::nodeProblems, this::servingProblems, () -> stopping)
        : new Readiness(gate::status, config.admin().readyExpiryMargin(), clock, this::servingProblems, () -> stopping);
    // Metrics and the convergence tracker read the registry's streams; the registry tells the
    // tracker about ACKs, and the tracker tells the metrics how rotations end.
    this.metrics = new RotorMetrics(new RotorMetrics.Sources(this::identityStatus, this::openStreams,
        policyReloads::get, policyRejections::get, () -> fileWriterCounters, () -> readiness.check().ready(), clock,
        RotorMain.version()));
    this.node = config.node().map(n -> NodeMode.create(n, new NodeServing(config.naming(),
        config.spiffeValidationDisabled(), config.gatePolicy().trustDomain(), clock, scheduler, this::openStreams,
        metrics)));
    this.convergence = new RotationConvergence(this::openStreams, System::nanoTime, metrics);
    // In node mode each workload tracks its own rotations; the registry tells the stream's workload.
    this.streamRegistry = new StreamRegistry(clock, node.<StreamRegistry.Observer>map(NodeMode::convergence)
        .orElse(convergence));
    this.csds = new ClientStatusService(streamRegistry::streams, Callers::current);
  }

  /**
   * Starts everything, or nothing: on any failure what was started is stopped again before the
   * exception leaves. Bad input surfaces as {@link UsageException}.
   */
  public static ServeRuntime start(ServeConfig config) {
    ServeRuntime rt = new ServeRuntime(config);
    try {
      rt.startAll();
      return rt;
    } catch (RuntimeException e) {
      rt.close();
      throw e;
    }
  }

  private void startAll() {
    if (config.workloadApi().isPresent()) {
      awaitAgentSocket(config.workloadApi().get(), config.workloadApiWait());
    }
    if (config.node().isPresent()) {
      awaitSocket(NodeOptions.FLAG, config.node().get().adminSocket(), config.node().get().adminSocketWait(),
          "the SPIRE agent's admin socket (its admin_socket_path)");
    }
    if (config.policyFile().isPresent()) {
      startPolicyWatcher(config.policyFile().get());
    }
    List<XdsEventListener> listeners = new ArrayList<>(List.of(new PushLog(), streamRegistry, metrics));
    node.ifPresent(n -> listeners.add(n.events()));
    XdsEventListener events = XdsEventListener.all(listeners);
    streams = new XdsStreamFactory(node.map(NodeMode::stores).orElseGet(() -> StoreProvider.single(store)), xdsPool,
        events, config.streamLimits());
    XdsStreamFactory f = streams;
    metrics.registerCounter("rotor_xds_stream_refusals_total", "xDS streams refused at open (stream_limit) or ended"
        + " for a request over a limit (node_too_large, subscription_limit)", "reason", f::refusals);
    List<ServerServiceDefinition> services = List.of(
        new SecretDiscoveryService(streams, Callers::current).bindService(),
        new AggregatedDiscoveryService(streams, Callers::current).bindService(),
        new ListenerDiscoveryService(streams, Callers::current).bindService(),
        new ClusterDiscoveryService(streams, Callers::current).bindService(),
        csds.bindService());
    try {
      uds = UdsServer.start(config.uds(), services, node.map(NodeMode::attestor));
      UdsServer u = uds;
      if (node.isPresent()) {
        node.get().start(u::disconnect);
        node.get().registerMetrics(metrics);
        // An attested stream must not outlive the process attested (its PID could be reused): check
        // every second, a read of /proc per connection.
        scheduler.scheduleWithFixedDelay(this::endLapsedStreams, 1, 1, TimeUnit.SECONDS);
      }
      metrics.registerCounter("rotor_uds_connection_refusals_total", "Unix-socket connections closed at the handshake,"
          + " by reason: uid_not_allowed, no_peer_credentials, connection_limit, uid_connection_limit, and in node"
          + " mode not_attested, attestation_unavailable", "reason",
          u::refusals);
      metrics.registerCounter("rotor_log_lines_suppressed_total", "Log lines not written because an outsider can"
          + " cause them at will and their rate limit was reached, by line", "line",
          () -> Map.of("uds_refusal", u.suppressedLogLines(), "xds_stream_refusal", streams.suppressedLogLines()));
      if (config.tcp().isPresent()) {
        tcp = TcpMtlsServer.start(config.tcp().get(), () -> Optional.ofNullable(served.get()), services,
            peer -> metrics.tcpRefused(Caller.REFUSED_CREDENTIALS_LAPSED));
        // An open stream must not outlive its caller's certificate, nor the CA that signed it: check
        // every second (a clock comparison per stream unless the identities changed) and at once
        // when they change (serve).
        scheduler.scheduleWithFixedDelay(this::endLapsedStreams, 1, 1, TimeUnit.SECONDS);
      }
    } catch (TransportStartException e) {
      throw new UsageException(e.getMessage(), e);
    }

    if (config.fileWriter().isPresent()) {
      try {
        fileWriter = dev.rotor.files.FileWriterService.start(config.fileWriter().get());
      } catch (dev.rotor.files.HelperConfigException e) {
        throw UsageException.of("--helper-config", e.getMessage());
      }
      dev.rotor.files.FileWriterService writer = fileWriter;
      fileWriterCounters(new FileWriterCounters() {
        @Override
        public long writes() {
          return writer.status().writes();
        }

        @Override
        public long failures() {
          return writer.status().failures();
        }

        @Override
        public long signalDeliveries() {
          var st = writer.status();
          return st.signalsSent() + st.reloadCmdRuns() - st.reloadCmdFailures();
        }
      });
    }
    if (node.isEmpty()) {
      source = config.dev().<IdentitySource>map(o -> new DevCaSource(o, Clock.systemUTC(), scheduler))
          .orElseGet(() -> WorkloadApiSource.connect(config.workloadApi().get(), scheduler, new SecureRandom()));
      source.start(metrics.countingUpdates(gate));
    }
    if (config.admin().address().isPresent()) {
      try {
        admin = AdminServer.start(config.admin().address().get(), config.admin().http(), readiness, metrics, new StatusReport(
            RotorMain.version(), clock, this::identityStatus, streamRegistry::streams, this::policyInfo, readiness::check,
            () -> node.map(n -> n.status(clock.instant()))));
        AdminServer a = admin;
        metrics.registerCounter("rotor_admin_refusals_total", "Admin HTTP connections closed by a limit, by reason:"
            + " request_timeout, response_timeout, connection_limit, request_too_large, bad_request",
            "reason", () -> RotorMetrics.byLowerCaseName(a.refusals()));
      } catch (IOException e) {
        throw UsageException.of("--admin-address", "cannot listen on " + config.admin().address().get() + " ("
            + e.getMessage() + "); choose another address or port, or off");
      }
    }

    log.atInfo()
        .addKeyValue("version", RotorMain.version())
        .addKeyValue("source", node.map(NodeMode::describe).orElseGet(() -> source.describe()))
        .addKeyValue("sds_socket", uds.socketPath().toString())
        .addKeyValue("socket_mode", config.uds().socketModeOctal())
        .addKeyValue("allowed_uids", config.uds().allowedUids())
        .addKeyValue("tcp", tcp == null ? "off" : "port " + tcp.port())
        .addKeyValue("admin", admin == null ? "off" : admin.url())
        .addKeyValue("policy", config.policyFile().map(Object::toString).orElse("none"))
        .log("rotor started");
  }

  /** Called by the gate with each snapshot it passes (or withdraws expired SVIDs from). */
  private void serve(IdentitySnapshot served) {
    this.served.set(served);
    if (tcp != null) {
      try {
        scheduler.execute(this::endLapsedStreams); // a CA may have left the bundle
      } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
        // the streams are being ended anyway
      }
    }
    if (fileWriter != null) {
      fileWriter.onServed(served); // queues the write on the writer's own thread
    }
    synchronized (this) {
      identityChangedAt = System.nanoTime();
      // SVIDs withdrawn at expiry leave the bundles; the own bundle keeps its alias (ROOTCA)
      // through the last known own SPIFFE ID, as the listeners do (see republish).
      served.defaultSvid().ifPresent(s -> lastOwnId = Optional.of(s.spiffeId()));
      catalog = SecretCatalog.build(served, config.naming(),
          served.ownTrustDomain().or(() -> lastOwnId.map(SpiffeId::getTrustDomain)));
      republish(identityChangedAt);
    }
    log.atInfo()
        .addKeyValue("identity_version", served.version())
        .addKeyValue("svids", served.svids().stream().map(s -> s.spiffeId() + " serial=" + s.serialHex()
            + " not_after=" + s.notAfter()).toList())
        .addKeyValue("trust_domains", served.bundles().keySet().stream().map(Object::toString).toList())
        .log("serving identity");
  }

  private void endLapsedStreams() {
    try {
      streams.endLapsedStreams();
    } catch (RuntimeException e) {
      // A failure here must not cancel the periodic task (the executor would drop it silently).
      log.atError().setCause(e).log("checking TCP callers' certificates failed; will retry in a second");
    }
  }

  /** Publishes a new state from the current identity catalog and policy resources. */
  private synchronized void republish(long changedAtNanos) {
    long gen = generation.incrementAndGet();
    // The own ID is sticky: when the gate withdraws an expired SVID, the pod is still the same
    // workload, and its listeners must not be deleted (they fail TLS without a secret instead).
    Optional.ofNullable(served.get()).flatMap(IdentitySnapshot::defaultSvid).map(s -> s.spiffeId())
        .ifPresent(id -> lastOwnId = Optional.of(id));
    ServingState next = new ServingState(gen, changedAtNanos,
        new SecretState(gen, changedAtNanos, catalog, config.spiffeValidationDisabled()), policyResources, lastOwnId);
    convergence.beforePublish(next); // before: no stream can have seen it yet
    store.publish(next);
    Optional<PolicyResources> policy = policyResources;
    node.ifPresent(n -> n.policyChanged(policy)); // each attested workload's store
    warnIfConnectionsOutliveCertificates();
  }

  /**
   * Warns (once per policy version and SVID lifetime) when the policy lets a connection live
   * longer than a quarter of the lifetime of the SVIDs served: a connection can start on a
   * certificate just before its renewal (at half-life, or a few seconds later), and must end
   * within the other half with margin, else a TLS connection can outlive the
   * certificate it was made with (docs/policy.md, "Connection lifetime").
   */
  private void warnIfConnectionsOutliveCertificates() {
    IdentitySnapshot identities = served.get();
    if (policyResources.isEmpty() || identities == null || identities.svids().isEmpty()) {
      return;
    }
    Policy policy = policyResources.get().policy();
    java.time.Duration shortest = identities.svids().stream()
        .map(s -> java.time.Duration.between(s.notBefore(), s.notAfter()))
        .min(java.time.Duration::compareTo).orElseThrow();
    String key = policy.contentVersion() + "/" + shortest.toSeconds();
    if (policy.maxConnectionDuration().compareTo(shortest.dividedBy(4)) > 0 && !key.equals(connectionWarningKey)) {
      connectionWarningKey = key;
      log.atWarn()
          .addKeyValue("policy_version", policy.contentVersion())
          .addKeyValue("max_connection_duration", policy.maxConnectionDuration().toString())
          .addKeyValue("svid_lifetime", shortest.toString())
          .log("the policy's maxConnectionDuration is longer than a quarter of the SVID lifetime: a TLS connection can"
              + " outlive the certificate it was made with; set maxConnectionDuration to at most "
              + shortest.dividedBy(4).toSeconds() + "s");
    }
  }

  private void startPolicyWatcher(java.nio.file.Path file) {
    policyWatcher = new PolicyWatcher(file, scheduler, config.policyPollInterval(), new PolicyWatcher.Listener() {
      @Override
      public void onPolicy(Policy p) {
        applyPolicy(p, false);
      }

      @Override
      public void onRejected(List<PolicyError> errors) {
        policyRejections.incrementAndGet();
      }
    }, clock);
    Policy first;
    try {
      first = policyWatcher.start();
    } catch (PolicyException e) {
      throw new UsageException("--policy: " + file + " is not a valid policy\n"
          + String.join("\n", e.errors().stream().map(Object::toString).toList()), e);
    } catch (IOException e) {
      throw UsageException.of("--policy", "cannot read " + file + ": " + e.getMessage());
    }
    applyPolicy(first, true);
  }

  /**
   * Translates a policy version into Envoy resources and serves them. A version that cannot be
   * translated is rejected (at start-up: bad input) and the last good one stays in force.
   */
  private void applyPolicy(Policy p, boolean atStart) {
    PolicyResources resources;
    try {
      resources = PolicyResources.build(p, new WorkloadResourcesBuilder.Options(
          SdsSecretConfigs.overAds(config.naming()), WorkloadResourcesBuilder.Options.DEFAULT_CONNECT_TIMEOUT));
    } catch (IllegalArgumentException e) {
      if (atStart) {
        throw UsageException.of("--policy", e.getMessage());
      }
      policyRejections.incrementAndGet();
      log.atError().addKeyValue("policy_version", p.contentVersion()).addKeyValue("error", e.getMessage())
          .log("policy rejected: it cannot be expressed in Envoy; the last good version stays in force");
      return;
    }
    synchronized (this) {
      policyResources = Optional.of(resources);
      servedPolicyVersion = Optional.of(p.contentVersion());
      republish(System.nanoTime());
    }
    if (!atStart) {
      policyReloads.incrementAndGet();
    }
    log.atInfo().addKeyValue("policy_version", p.contentVersion())
        .addKeyValue("workloads", p.workloads().stream().map(w -> w.name()).toList())
        .log("serving policy");
  }

  /** Policy versions rejected since start (invalid YAML or untranslatable rules). */
  public long policyRejections() {
    return policyRejections.get();
  }

  /** Why the policy asked for is not in force; empty when none was asked for or it is. */
  private Optional<String> policyProblem() {
    if (config.policyFile().isPresent() && servedPolicyVersion.isEmpty()) {
      return Optional.of("--policy " + config.policyFile().get() + ": no valid policy in force");
    }
    // A watcher that stopped serves a policy that no longer follows the file (finding 9).
    PolicyWatcher w = policyWatcher;
    return w == null ? Optional.empty() : w.problem();
  }

  /** The gate's status; in node mode every workload's gate together. */
  private dev.rotor.gate.GateStatus identityStatus() {
    return node.map(NodeMode::gateStatus).orElseGet(gate::status);
  }

  /** Node mode's readiness: the SPIRE agent's bundles are there and their stream is up. */
  private List<String> nodeProblems() {
    return node.map(NodeMode::readinessProblems).orElse(List.of());
  }

  /** Besides the identity, what keeps this Rotor from serving (for /readyz). */
  private List<String> servingProblems() {
    List<String> problems = new ArrayList<>(2);
    policyProblem().ifPresent(problems::add);
    // Another Rotor that replaced our socket file serves the Envoys now; this one must not look ready.
    UdsServer u = uds;
    if (u != null) {
      u.socketProblem().ifPresent(problems::add);
    }
    return problems;
  }

  private Optional<StatusReport.PolicyInfo> policyInfo() {
    return config.policyFile().map(f -> new StatusReport.PolicyInfo(f.toString(), servedPolicyVersion,
        policyReloads.get(), policyRejections.get()));
  }

  private List<StreamStatus> openStreams() {
    return streamRegistry.streams();
  }

  /** Per-stream status: what each connected Envoy was sent, ACKed and NACKed. */
  public StreamRegistry streamRegistry() {
    return streamRegistry;
  }

  public RotorMetrics metrics() {
    return metrics;
  }

  public Readiness readiness() {
    return readiness;
  }

  /** The admin endpoint's base URL, e.g. {@code http://127.0.0.1:9902}; empty when off. */
  public Optional<String> adminUrl() {
    return Optional.ofNullable(admin).map(AdminServer::url);
  }

  /** Plugs in the counters of a file writer running in this process (metrics read them at scrape time). */
  public void fileWriterCounters(FileWriterCounters counters) {
    this.fileWriterCounters = requireNonNull(counters, "counters");
  }

  /** Blocks until {@link #requestShutdown()} (SIGTERM, SIGINT or SIGHUP). */
  public void awaitShutdown() throws InterruptedException {
    stop.await();
  }

  public void requestShutdown() {
    stop.countDown();
  }

  public ResourceStore store() {
    return store;
  }

  public IdentityGate gate() {
    return gate;
  }

  public Optional<Path> sdsSocket() {
    return Optional.ofNullable(uds).map(UdsServer::socketPath);
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopping = true; // /readyz fails from now on
    Instant deadline = Instant.now().plus(SHUTDOWN_GRACE);
    // Stop accepting calls first, then end the open streams with UNAVAILABLE (Envoy reconnects to
    // the next Rotor at once), so the transports' shutdown below does not sit out its grace period
    // waiting for streams that never end by themselves.
    if (uds != null) {
      uds.server().shutdown();
    }
    if (tcp != null) {
      tcp.server().shutdown();
    }
    if (streams != null) {
      streams.shutdown(Status.UNAVAILABLE.withDescription("Rotor is shutting down"));
    }
    csds.shutdown();
    List<AutoCloseable> order = new ArrayList<>();
    if (uds != null) {
      order.add(uds);
    }
    if (tcp != null) {
      order.add(tcp);
    }
    if (source != null) {
      order.add(source);
    }
    node.ifPresent(order::add);
    if (policyWatcher != null) {
      order.add(policyWatcher);
    }
    if (admin != null) {
      order.add(admin);
    }
    if (fileWriter != null) {
      order.add(fileWriter);
    }
    for (AutoCloseable c : order) {
      try {
        c.close();
      } catch (Exception e) {
        log.atWarn().setCause(e).log("error while shutting down");
      }
    }
    scheduler.shutdownNow();
    xdsPool.shutdown();
    try {
      long left = Math.max(0, Duration.between(Instant.now(), deadline).toMillis());
      xdsPool.awaitTermination(left, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    xdsPool.shutdownNow();
    log.info("rotor stopped");
  }

  /**
   * Waits for the agent socket to exist (a sidecar may start before the agent's socket is
   * mounted), then checks it is a socket Rotor may open. Bad input is a {@link UsageException}.
   */
  private static void awaitAgentSocket(WorkloadApiAddress address, Duration wait) {
    if (address instanceof WorkloadApiAddress.Unix unix) {
      awaitSocket("--workload-api", unix.path(), wait, "the SPIRE agent's Workload API socket");
    }
  }

  private static void awaitSocket(String flag, Path path, Duration wait, String what) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (!Files.exists(path)) {
      if (System.nanoTime() >= deadline) {
        throw UsageException.of(flag, "no SPIRE agent socket at " + path + " after waiting "
            + wait.toSeconds() + "s (start the agent, mount its socket, or fix the path; --dev runs without SPIRE)");
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw UsageException.of(flag, "interrupted while waiting for " + path);
      }
    }
    try {
      if (!isSocket(path)) {
        throw UsageException.of(flag, path + " is not a socket (expected " + what + ")");
      }
    } catch (IOException e) {
      throw UsageException.of(flag, "cannot read " + path + ": " + e.getMessage());
    }
    if (!Files.isReadable(path) || !Files.isWritable(path)) {
      throw UsageException.of(flag, "no permission to open " + path
          + " (run Rotor as a user allowed to use the agent socket)");
    }
  }

  private static boolean isSocket(Path path) throws IOException {
    Object mode = Files.getAttribute(path, "unix:mode");
    return mode instanceof Integer m && (m & 0170000) == 0140000;
  }

  private static java.util.concurrent.ThreadFactory daemon(String nameFormat) {
    return new ThreadFactoryBuilder().setNameFormat(nameFormat).setDaemon(true).build();
  }
}
