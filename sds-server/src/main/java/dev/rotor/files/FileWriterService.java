package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import dev.rotor.files.X509Outputs.RenderException;
import dev.rotor.files.X509Outputs.Rendered;
import dev.rotor.gate.ServedIdentityListener;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.source.workload.JwtWorkloadApiClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file writer: takes the identities the gate serves and keeps spiffe-helper-compatible files
 * in cert_dir up to date, published as one consistent set ({@link SymlinkSwapPublisher}), then
 * tells the program that reads them ({@link RenewalActions}). JWT files, when configured, come from
 * the agent directly ({@link JwtOutputs}) on the same thread.
 *
 * <p>Nothing is written, and nobody is signalled, when the content in place is already what the
 * snapshot gives (a snapshot that only changed a federated bundle the files do not include, a
 * restart of Rotor with the same SVID). A failed write keeps the files in place, is reported in
 * {@link #status()} and retried with backoff until it succeeds or a newer snapshot arrives.
 *
 * <p>Threading: {@link #onServed} may be called from any thread; it only records the newest
 * snapshot and makes sure one drain is queued on {@link #executor}, a single thread that does all
 * file and process work. Snapshots that arrive while a write is in progress coalesce: only the
 * newest is written next. Every field below marked "executor" is touched only from that thread;
 * {@link #status()} reads atomics.
 */
public final class FileWriterService implements ServedIdentityListener, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(FileWriterService.class);

  static final Duration RETRY_INITIAL = Duration.ofSeconds(1);
  static final Duration RETRY_MAX = Duration.ofSeconds(60);

  private final HelperConfig config;
  private final ScheduledExecutorService executor;
  private final boolean ownsExecutor;
  private final Clock clock;
  private final SymlinkSwapPublisher publisher;
  private final RenewalActions actions;
  private final Optional<JwtOutputs> jwt;

  private final AtomicReference<IdentitySnapshot> pending = new AtomicReference<>();
  private final AtomicBoolean drainQueued = new AtomicBoolean();
  private final CompletableFuture<Void> firstWrite = new CompletableFuture<>();

  private final AtomicLong writes = new AtomicLong();
  private final AtomicLong unchanged = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicReference<String> lastError = new AtomicReference<>();
  private final AtomicReference<Instant> lastWriteAt = new AtomicReference<>();
  private final AtomicReference<String> publishedDigest = new AtomicReference<>();
  private volatile boolean everWritten;
  private volatile boolean closed;
  private volatile HealthServer health;

  // executor
  private IdentitySnapshot current;
  private ScheduledFuture<?> retry;
  private Duration nextRetryDelay = RETRY_INITIAL;
  private String lastLoggedProblem;

  /**
   * A writer on its own thread, with the system clock, and its health listener when enabled (in
   * daemon mode). Call {@link #close()} to stop both.
   *
   * @throws HelperConfigException for a health address that cannot be bound, or an agent address
   *     the JWT client cannot use
   */
  public static FileWriterService start(HelperConfig config) {
    ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(
        new ThreadFactoryBuilder().setNameFormat("rotor-files").setDaemon(true).build());
    FileWriterService service;
    Optional<JwtWorkloadApiClient> jwtClient = Optional.empty();
    try {
      if (hasJwt(config)) {
        jwtClient = Optional.of(JwtWorkloadApiClient.connect(config.agentAddress()));
      }
      service = new FileWriterService(config, executor, true, Clock.systemUTC(), new AtomicFileWriter(), Path.of(""),
          jwtClient);
    } catch (RuntimeException e) {
      jwtClient.ifPresent(JwtWorkloadApiClient::close);
      executor.shutdownNow();
      throw new HelperConfigException(e instanceof HelperConfigException ? e.getMessage()
          : "agent_address: " + e.getMessage(), e);
    }
    HelperConfig.HealthChecks h = config.healthChecks();
    if (h.listenerEnabled() && config.daemonMode()) {
      try {
        service.health = HealthServer.start(h, service::status);
      } catch (IOException e) {
        service.close();
        throw new HelperConfigException("health_checks: cannot listen on " + h.bindAddress() + ":" + h.bindPort()
            + " (" + e.getMessage() + "; choose another bind_port or bind_address)", e);
      }
      log.atInfo().addKeyValue("address", h.bindAddress()).addKeyValue("port", service.health.port())
          .log(healthListenerStarted(h.bindAddress(), service.health.port()));
    }
    return service;
  }

  /**
   * The start-up line of the health listener. On loopback (Rotor's default) it says so, and what a
   * kubelet needs: a probe copied from a spiffe-helper setup, which listens on every interface,
   * would otherwise fail with no hint why.
   */
  static String healthListenerStarted(String address, int port) {
    boolean loopback;
    try {
      loopback = java.net.InetAddress.getByName(address).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      loopback = false;
    }
    String where = (address.contains(":") ? "[" + address + "]" : address) + ":" + port;
    return loopback
        ? "file writer health listener on " + where + ", loopback only (Rotor's default; spiffe-helper listens on"
            + " every interface): a kubelet's HTTP probe cannot reach it; set health_checks { bind_address ="
            + " \"0.0.0.0\" } for Kubernetes probes"
        : "file writer health listener on " + where;
  }

  /** The health listener's port, when it runs. */
  public Optional<Integer> healthPort() {
    HealthServer h = health;
    return h == null ? Optional.empty() : Optional.of(h.port());
  }

  /**
   * @param executor must run one task at a time (a single thread or a test's fake scheduler)
   */
  FileWriterService(HelperConfig config, ScheduledExecutorService executor, boolean ownsExecutor, Clock clock,
      AtomicFileWriter writer, Path workingDirectory) {
    this(config, executor, ownsExecutor, clock, writer, workingDirectory, Optional.empty());
  }

  /**
   * @param jwtClient the agent's JWT API; required when the configuration has JWT outputs
   */
  FileWriterService(HelperConfig config, ScheduledExecutorService executor, boolean ownsExecutor, Clock clock,
      AtomicFileWriter writer, Path workingDirectory, Optional<JwtWorkloadApiClient> jwtClient) {
    this.config = requireNonNull(config, "config");
    this.executor = requireNonNull(executor, "executor");
    this.ownsExecutor = ownsExecutor;
    this.clock = requireNonNull(clock, "clock");
    if (hasJwt(config) && jwtClient.isEmpty()) {
      requireNoJwt(config, "JWT outputs need the SPIRE agent's Workload API");
    }
    this.publisher = new SymlinkSwapPublisher(config.certDir(), requireNonNull(writer, "writer"), clock);
    this.actions = new RenewalActions(config.reload(), config.files().keyFileOwner().flatMap(FileOwner::uid), executor,
        workingDirectory.toAbsolutePath());
    publisher.publishedDigest().ifPresent(publishedDigest::set);
    this.jwt = jwtClient.map(c -> new JwtOutputs(config, c, executor, clock, writer, this::completeIfReady));
    jwt.ifPresent(JwtOutputs::start);
  }

  static boolean hasJwt(HelperConfig config) {
    return !config.jwtSvids().isEmpty() || config.jwtBundleFileName().isPresent();
  }

  /**
   * Refuses JWT outputs where there is no Workload API to fetch them from ({@code --dev}, whose CA
   * issues X.509-SVIDs only; {@code rotor serve --helper-config}), rather than run without files the
   * configuration asks for.
   *
   * @param why the reason, ending the message
   */
  public static void requireNoJwt(HelperConfig config, String why) {
    if (!config.jwtSvids().isEmpty()) {
      throw new HelperConfigException("jwt_svids: not available here (" + why + ")");
    }
    if (config.jwtBundleFileName().isPresent()) {
      throw new HelperConfigException("jwt_bundle_file_name: not available here (" + why + ")");
    }
  }

  /** Records {@code served} as the newest snapshot and queues a write. Any thread. */
  @Override
  public void onServed(IdentitySnapshot served) {
    requireNonNull(served, "served");
    if (closed) {
      return;
    }
    pending.set(served);
    if (drainQueued.compareAndSet(false, true)) {
      try {
        executor.execute(this::drain);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        drainQueued.set(false); // closing
      }
    }
  }

  /**
   * Completes once every output was written (or found in place): the X.509 files after the first
   * successful publish, each JWT file after its first write.
   */
  public CompletableFuture<Void> firstWrite() {
    return firstWrite;
  }

  public FileWriterStatus status() {
    Optional<String> error = Optional.ofNullable(lastError.get()).or(() -> jwt.flatMap(JwtOutputs::lastError));
    boolean x509Written = config.x509().isEmpty() || everWritten;
    boolean jwtWritten = jwt.map(JwtOutputs::allWritten).orElse(true);
    return new FileWriterStatus(x509Written && jwtWritten && error.isEmpty(), error,
        writes.get() + jwt.map(JwtOutputs::writes).orElse(0L), unchanged.get(), failures.get(), actions.signalsSent(),
        actions.signalFailures(), actions.reloadCmdRuns(), actions.reloadCmdFailures(),
        Optional.ofNullable(lastWriteAt.get()), Optional.ofNullable(publishedDigest.get()));
  }

  /** Completes {@link #firstWrite()} once every output was written. */
  private void completeIfReady() {
    if (status().ready()) {
      firstWrite.complete(null);
    }
  }

  public HelperConfig config() {
    return config;
  }

  private void drain() {
    drainQueued.set(false);
    IdentitySnapshot next = pending.getAndSet(null);
    if (next == null || closed) {
      return;
    }
    if (retry != null) {
      retry.cancel(false);
      retry = null;
    }
    nextRetryDelay = RETRY_INITIAL;
    current = next;
    attempt();
  }

  private void attempt() {
    if (closed) {
      return;
    }
    IdentitySnapshot snapshot = current;
    if (config.x509().isEmpty()) {
      return; // JWT outputs only: snapshots carry nothing to write
    }
    HelperConfig.X509Output out = config.x509().get();
    Rendered rendered;
    try {
      rendered = X509Outputs.render(snapshot, out, config.files(), config.hint(), clock.instant(), pkcs12Password());
    } catch (RenderException e) {
      // Retrying cannot help until the agent sends something else: report once, wait for it.
      fail(e.getMessage(), false);
      return;
    }
    boolean contentChanged = !publisher.publishedDigest().equals(
        Optional.of(SymlinkSwapPublisher.shortDigest(rendered.digest())));
    if (publisher.isInPlace(rendered.files(), rendered.digest())) {
      unchanged.incrementAndGet();
      log.atDebug().addKeyValue("digest", rendered.digest().substring(0, 16)).log("files already in place");
    } else {
      try {
        publisher.publish(rendered.files(), rendered.digest());
      } catch (IOException | RuntimeException e) {
        fail("writing to " + config.certDir() + " failed: " + describeWriteFailure(e) + "; the files in place are kept",
            true);
        return;
      }
      writes.incrementAndGet();
      lastWriteAt.set(clock.instant());
      publishedDigest.set(rendered.digest().substring(0, 16));
      log.atInfo()
          .addKeyValue("cert_dir", config.certDir().toString())
          .addKeyValue("spiffe_id", rendered.svid().spiffeId().toString())
          .addKeyValue("serial", rendered.svid().serialHex())
          .addKeyValue("not_after", rendered.svid().notAfter().toString())
          .addKeyValue("files", rendered.files().stream().map(OutputFile::name).toList())
          .addKeyValue("content_changed", contentChanged)
          .log("files published");
    }
    lastError.set(null);
    lastLoggedProblem = null;
    nextRetryDelay = RETRY_INITIAL;
    everWritten = true;
    List<String> problems = actions.afterPublish(contentChanged);
    if (!problems.isEmpty()) {
      log.debug("renewal actions reported: {}", problems);
    }
    completeIfReady();
  }

  private Optional<char[]> pkcs12Password() throws RenderException {
    Optional<Path> file = config.x509().flatMap(HelperConfig.X509Output::pkcs12)
        .flatMap(HelperConfig.Pkcs12Output::passwordFile);
    if (file.isEmpty()) {
      return Optional.empty();
    }
    try {
      String text = Files.readString(file.get(), StandardCharsets.UTF_8);
      String first = text.lines().findFirst().orElse("");
      return Optional.of(first.toCharArray());
    } catch (IOException e) {
      throw new RenderException("pkcs12_password_file " + file.get() + " cannot be read: " + e.getMessage());
    }
  }

  /**
   * The cause of a failed write, without the path of the version directory: that path is new on
   * every attempt, and the same fault must read the same to be logged once, not on every retry.
   */
  private static String describeWriteFailure(Exception e) {
    if (e instanceof FileSystemException fse) {
      return fse.getClass().getSimpleName() + (fse.getReason() == null ? "" : ": " + fse.getReason());
    }
    return e.getClass().getSimpleName() + ": " + e.getMessage();
  }

  private void fail(String problem, boolean retryLater) {
    failures.incrementAndGet();
    lastError.set(problem);
    if (!problem.equals(lastLoggedProblem)) {
      log.error(problem);
      lastLoggedProblem = problem;
    } else {
      log.debug("still failing: {}", problem);
    }
    if (retryLater && !closed) {
      Duration delay = nextRetryDelay;
      nextRetryDelay = delay.multipliedBy(2).compareTo(RETRY_MAX) > 0 ? RETRY_MAX : delay.multipliedBy(2);
      retry = executor.schedule(this::attempt, delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Stops writing; stops {@code cmd} if Rotor started it. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    HealthServer h = health;
    if (h != null) {
      h.close();
    }
    jwt.ifPresent(JwtOutputs::close);
    actions.close();
    if (ownsExecutor) {
      executor.shutdownNow();
    }
  }
}
