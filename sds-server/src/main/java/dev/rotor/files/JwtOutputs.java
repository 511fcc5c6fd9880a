package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import dev.rotor.files.HelperConfig.JwtSvidOutput;
import dev.rotor.source.workload.JwtWorkloadApiClient;
import dev.rotor.source.workload.JwtWorkloadApiClient.FetchedJwtSvid;
import io.spiffe.exception.JwtSvidException;
import io.spiffe.svid.jwtsvid.JwtSvid;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JWT files, as spiffe-helper writes them: each {@code jwt_svids} entry's token (fetched for its
 * audiences, refreshed at half of its remaining lifetime plus a second, retried with backoff on
 * failure), and the JWT bundles as one JSON object {@code {"<trust domain>": "<base64 of the
 * JWKS>"}} in spiffe-helper's bytes ({@link JwtBundleJson}) whenever the agent sends new ones. Each file is written atomically with its mode from
 * the first byte, and only when its content (or mode or owner) differs from what is in place.
 *
 * <p>The token is checked before it is written (a JWT for the requested audience, a SPIFFE ID as
 * subject, not expired); its signature is the agent's word, as in spiffe-helper with the same
 * agent's bundles. Tokens are credentials and never logged.
 *
 * <p>Threading: every method except the client's callbacks runs on {@code executor}; callbacks only
 * queue work on it.
 */
final class JwtOutputs implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(JwtOutputs.class);
  static final Duration CALL_DEADLINE = Duration.ofSeconds(30);
  static final Duration RETRY_INITIAL = Duration.ofSeconds(1);
  static final Duration RETRY_MAX = Duration.ofSeconds(60);

  private final HelperConfig config;
  private final JwtWorkloadApiClient client;
  private final ScheduledExecutorService executor;
  private final Clock clock;
  private final AtomicFileWriter writer;
  private final Runnable onWritten;
  private final AtomicLong writes = new AtomicLong();

  /** State per output file name; replaced whole, read by status() from any thread. */
  private volatile Map<String, Optional<String>> errors = Map.of();
  private volatile Set<String> written = Set.of();

  // executor
  private final Map<String, Duration> retryDelay = new LinkedHashMap<>();
  private volatile Runnable cancelBundles;
  /** Set by close() from any thread; pending timers see it and do nothing. */
  private volatile boolean closed;

  /**
   * @param onWritten runs on the executor after each successful write (readiness may have changed)
   */
  JwtOutputs(HelperConfig config, JwtWorkloadApiClient client, ScheduledExecutorService executor, Clock clock,
      AtomicFileWriter writer, Runnable onWritten) {
    this.config = requireNonNull(config, "config");
    this.client = requireNonNull(client, "client");
    this.executor = requireNonNull(executor, "executor");
    this.clock = requireNonNull(clock, "clock");
    this.writer = requireNonNull(writer, "writer");
    this.onWritten = requireNonNull(onWritten, "onWritten");
  }

  /** Every output name this writes. */
  List<String> names() {
    List<String> names = new ArrayList<>();
    config.jwtSvids().forEach(j -> names.add(j.fileName()));
    config.jwtBundleFileName().ifPresent(names::add);
    return names;
  }

  void start() {
    executor.execute(() -> {
      for (JwtSvidOutput out : config.jwtSvids()) {
        fetch(out);
      }
      if (config.jwtBundleFileName().isPresent()) {
        watchBundles();
      }
    });
  }

  boolean allWritten() {
    return written.containsAll(names());
  }

  Optional<String> lastError() {
    return errors.values().stream().flatMap(Optional::stream).findFirst();
  }

  long writes() {
    return writes.get();
  }

  private void fetch(JwtSvidOutput out) {
    if (closed) {
      return;
    }
    List<String> audiences = new ArrayList<>();
    audiences.add(out.audience());
    audiences.addAll(out.extraAudiences());
    client.fetchJwtSvids(audiences, CALL_DEADLINE, new JwtWorkloadApiClient.SvidCallback() {
      @Override
      public void onSvids(List<FetchedJwtSvid> svids) {
        executor.execute(() -> received(out, svids));
      }

      @Override
      public void onError(String reason) {
        executor.execute(() -> failed(out.fileName(), "jwt_svids " + out.fileName() + ": " + reason,
            () -> fetch(out)));
      }
    });
  }

  private void received(JwtSvidOutput out, List<FetchedJwtSvid> svids) {
    if (closed) {
      return;
    }
    String name = out.fileName();
    Optional<FetchedJwtSvid> chosen = config.hint().isEmpty() ? svids.stream().findFirst()
        : svids.stream().filter(s -> s.hint().equals(config.hint())).findFirst();
    if (chosen.isEmpty()) {
      failed(name, "jwt_svids " + name + ": " + (svids.isEmpty() ? "the agent sent no JWT-SVID"
          : "no JWT-SVID has hint \"" + config.hint() + "\"") + "; nothing written", () -> fetch(out));
      return;
    }
    JwtSvid svid;
    try {
      svid = JwtSvid.parseInsecure(chosen.get().token(), Set.of(out.audience()));
    } catch (JwtSvidException | RuntimeException e) {
      failed(name, "jwt_svids " + name + ": the agent's JWT-SVID is not usable: " + e.getMessage(), () -> fetch(out));
      return;
    }
    if (!write(name, chosen.get().token().getBytes(StandardCharsets.US_ASCII), config.files().jwtSvid(),
        () -> fetch(out))) {
      return;
    }
    // spiffe-helper's refresh: half of the remaining lifetime, plus a second.
    Instant expiry = svid.getExpiry().toInstant();
    Duration refresh = Duration.between(clock.instant(), expiry).dividedBy(2).plusSeconds(1);
    if (refresh.compareTo(Duration.ofSeconds(1)) < 0) {
      refresh = Duration.ofSeconds(1);
    }
    log.atInfo().addKeyValue("file", name).addKeyValue("spiffe_id", svid.getSpiffeId().toString())
        .addKeyValue("expires", expiry.toString()).addKeyValue("refresh_in", refresh.toString())
        .log("JWT-SVID written");
    schedule(() -> fetch(out), refresh);
  }

  private void watchBundles() {
    if (closed) {
      return;
    }
    String name = config.jwtBundleFileName().get();
    cancelBundles = client.watchJwtBundles(new JwtWorkloadApiClient.BundlesListener() {
      @Override
      public void onBundles(Map<String, byte[]> jwksByTrustDomain) {
        executor.execute(() -> bundles(name, jwksByTrustDomain));
      }

      @Override
      public void onError(String reason) {
        executor.execute(() -> failed(name, "jwt_bundle_file_name " + name + ": " + reason,
            JwtOutputs.this::watchBundles));
      }
    });
  }

  private void bundles(String name, Map<String, byte[]> jwksByTrustDomain) {
    if (closed) {
      return;
    }
    byte[] content;
    try {
      content = JwtBundleJson.render(jwksByTrustDomain);
    } catch (IllegalArgumentException e) {
      // As spiffe-helper: a set go-spiffe cannot parse is not written; the file in place stays.
      failed(name, "jwt_bundle_file_name " + name + ": " + e.getMessage() + "; not written", () -> { });
      return;
    }
    // A failed write is retried by the next response or a reopened stream; nothing to schedule here.
    if (write(name, content, config.files().jwtBundle(), () -> { })) {
      log.atInfo().addKeyValue("file", name).addKeyValue("trust_domains", List.copyOf(jwksByTrustDomain.keySet()))
          .log("JWT bundle written");
    }
  }

  /** Writes {@code name} unless the same content is in place with the right mode; true on success. */
  private boolean write(String name, byte[] content, FileSpec spec, Runnable retry) {
    Path path = config.path(name);
    try {
      if (!inPlace(path, content, spec)) {
        writer.write(path, content, spec);
        writes.incrementAndGet();
      }
    } catch (IOException | RuntimeException e) {
      failed(name, "writing " + path + " failed: " + e.getClass().getSimpleName() + ": " + e.getMessage(), retry);
      return false;
    }
    retryDelay.remove(name);
    Map<String, Optional<String>> e = new LinkedHashMap<>(errors);
    e.put(name, Optional.empty());
    errors = Map.copyOf(e);
    java.util.Set<String> w = new java.util.HashSet<>(written);
    w.add(name);
    written = Set.copyOf(w);
    onWritten.run();
    return true;
  }

  private static boolean inPlace(Path path, byte[] content, FileSpec spec) throws IOException {
    if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)
        || FileSpec.mode(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS)) != spec.mode()) {
      return false;
    }
    if (spec.owner().isPresent()) {
      FileOwner o = spec.owner().get();
      if (o.uid().isPresent() && !o.uid().get().equals(Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS))
          || o.gid().isPresent()
          && !o.gid().get().equals(Files.getAttribute(path, "unix:gid", LinkOption.NOFOLLOW_LINKS))) {
        return false;
      }
    }
    return Files.size(path) == content.length && Arrays.equals(Files.readAllBytes(path), content);
  }

  private void failed(String name, String problem, Runnable retry) {
    if (closed) {
      return;
    }
    Optional<String> before = errors.getOrDefault(name, Optional.empty());
    if (!before.equals(Optional.of(problem))) {
      log.error(problem);
    }
    Map<String, Optional<String>> e = new LinkedHashMap<>(errors);
    e.put(name, Optional.of(problem));
    errors = Map.copyOf(e);
    Duration delay = retryDelay.getOrDefault(name, RETRY_INITIAL);
    retryDelay.put(name, delay.multipliedBy(2).compareTo(RETRY_MAX) > 0 ? RETRY_MAX : delay.multipliedBy(2));
    schedule(retry, delay);
  }

  private void schedule(Runnable task, Duration delay) {
    try {
      executor.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // shutting down
    }
  }

  @Override
  public void close() {
    closed = true;
    Runnable cancel = cancelBundles;
    if (cancel != null) {
      cancel.run();
    }
    client.close();
  }
}
