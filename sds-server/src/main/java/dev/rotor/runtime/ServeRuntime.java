package dev.rotor.runtime;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import dev.rotor.cli.RotorMain;
import dev.rotor.cli.UsageException;
import dev.rotor.config.AggregatedDiscoveryService;
import dev.rotor.config.ClusterDiscoveryService;
import dev.rotor.config.ListenerDiscoveryService;
import dev.rotor.config.PolicyResources;
import dev.rotor.config.ServingState;
import dev.rotor.gate.IdentityGate;
import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyError;
import dev.rotor.policy.PolicyException;
import dev.rotor.policywatch.PolicyWatcher;
import dev.rotor.xds.envoy.SdsSecretConfigs;
import dev.rotor.xds.envoy.WorkloadResourcesBuilder;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.protocol.ResourceStore;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.protocol.XdsStreamFactory;
import dev.rotor.pushlog.PushLog;
import dev.rotor.sds.SecretDiscoveryService;
import dev.rotor.sds.SecretState;
import dev.rotor.source.IdentitySource;
import dev.rotor.source.dev.DevCaSource;
import dev.rotor.source.workload.WorkloadApiAddress;
import dev.rotor.source.workload.WorkloadApiSource;
import dev.rotor.transport.PeerIdentity;
import dev.rotor.transport.TcpMtlsServer;
import dev.rotor.transport.TransportStartException;
import dev.rotor.transport.UdsServer;
import dev.rotor.xds.secret.SecretCatalog;
import io.grpc.ServerServiceDefinition;
import io.spiffe.spiffeid.SpiffeId;
import java.util.function.Supplier;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
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
 * streams on the Unix socket (and TCP with mTLS when asked). Closing it stops accepting streams,
 * closes the open ones and stops the source.
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
  // Guarded by "this": the inputs of the served state, combined by republish().
  private SecretCatalog catalog = SecretCatalog.EMPTY;
  private Optional<PolicyResources> policyResources = Optional.empty();
  private long identityChangedAt = System.nanoTime();
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
    if (config.policyFile().isPresent()) {
      startPolicyWatcher(config.policyFile().get());
    }
    XdsEventListener events = new PushLog();
    XdsStreamFactory streams = new XdsStreamFactory(store, xdsPool, events);
    Supplier<String> peer = () -> PeerIdentity.current().map(PeerIdentity::describe).orElse("unknown");
    List<ServerServiceDefinition> services = List.of(
        new SecretDiscoveryService(streams, peer).bindService(),
        new AggregatedDiscoveryService(streams, peer).bindService(),
        new ListenerDiscoveryService(streams, peer).bindService(),
        new ClusterDiscoveryService(streams, peer).bindService());
    try {
      uds = UdsServer.start(config.uds(), services);
      if (config.tcp().isPresent()) {
        tcp = TcpMtlsServer.start(config.tcp().get(), () -> Optional.ofNullable(served.get()), services);
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
    }
    source = config.dev().<IdentitySource>map(o -> new DevCaSource(o, Clock.systemUTC(), scheduler))
        .orElseGet(() -> WorkloadApiSource.connect(config.workloadApi().get(), scheduler, new SecureRandom()));
    source.start(gate);

    log.atInfo()
        .addKeyValue("version", RotorMain.version())
        .addKeyValue("source", source.describe())
        .addKeyValue("sds_socket", uds.socketPath().toString())
        .addKeyValue("socket_mode", config.uds().socketModeOctal())
        .addKeyValue("allowed_uids", config.uds().allowedUids())
        .addKeyValue("tcp", tcp == null ? "off" : "port " + tcp.port())
        .addKeyValue("policy", config.policyFile().map(Object::toString).orElse("none"))
        .log("rotor started");
  }

  /** Called by the gate with each snapshot it passes (or withdraws expired SVIDs from). */
  private void serve(IdentitySnapshot served) {
    this.served.set(served);
    if (fileWriter != null) {
      fileWriter.onServed(served); // queues the write on the writer's own thread
    }
    synchronized (this) {
      identityChangedAt = System.nanoTime();
      catalog = SecretCatalog.build(served, config.naming());
      republish(identityChangedAt);
    }
    log.atInfo()
        .addKeyValue("identity_version", served.version())
        .addKeyValue("svids", served.svids().stream().map(s -> s.spiffeId() + " serial=" + s.serialHex()
            + " not_after=" + s.notAfter()).toList())
        .addKeyValue("trust_domains", served.bundles().keySet().stream().map(Object::toString).toList())
        .log("serving identity");
  }

  /** Publishes a new state from the current identity catalog and policy resources. */
  private synchronized void republish(long changedAtNanos) {
    long gen = generation.incrementAndGet();
    Optional<SpiffeId> ownId = Optional.ofNullable(served.get()).flatMap(IdentitySnapshot::defaultSvid)
        .map(s -> s.spiffeId());
    store.publish(new ServingState(gen, changedAtNanos,
        new SecretState(gen, changedAtNanos, catalog, config.spiffeValidationDisabled()), policyResources, ownId));
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
    });
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
      republish(System.nanoTime());
    }
    log.atInfo().addKeyValue("policy_version", p.contentVersion())
        .addKeyValue("workloads", p.workloads().stream().map(w -> w.name()).toList())
        .log("serving policy");
  }

  /** Policy versions rejected since start (invalid YAML or untranslatable rules). */
  public long policyRejections() {
    return policyRejections.get();
  }

  /** Blocks until {@link #requestShutdown()} (SIGTERM or SIGINT). */
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
    Instant deadline = Instant.now().plus(SHUTDOWN_GRACE);
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
    if (policyWatcher != null) {
      order.add(policyWatcher);
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
    if (!(address instanceof WorkloadApiAddress.Unix unix)) {
      return;
    }
    Path path = unix.path();
    long deadline = System.nanoTime() + wait.toNanos();
    while (!Files.exists(path)) {
      if (System.nanoTime() >= deadline) {
        throw UsageException.of("--workload-api", "no SPIRE agent socket at " + path + " after waiting "
            + wait.toSeconds() + "s (start the agent, mount its socket, or fix the path; --dev runs without SPIRE)");
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw UsageException.of("--workload-api", "interrupted while waiting for " + path);
      }
    }
    try {
      if (!isSocket(path)) {
        throw UsageException.of("--workload-api", path + " is not a socket (expected the SPIRE agent's Workload API socket)");
      }
    } catch (IOException e) {
      throw UsageException.of("--workload-api", "cannot read " + path + ": " + e.getMessage());
    }
    if (!Files.isReadable(path) || !Files.isWritable(path)) {
      throw UsageException.of("--workload-api", "no permission to open " + path
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
