package dev.rotor.it.pg.drill;

import static java.util.Objects.requireNonNull;

import dev.rotor.it.pg.PooledClient;
import dev.rotor.it.pg.PostgresWithSvids;
import dev.rotor.it.pg.ReconnectingClient;
import dev.rotor.it.pg.SqlClient;
import dev.rotor.testkit.drill.DrillChart;
import dev.rotor.testkit.drill.DrillTimeline;
import dev.rotor.testkit.postgres.ClientFiles;
import dev.rotor.testkit.postgres.PemFiles;
import dev.rotor.testkit.postgres.PgJdbc;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The rotation drill: the problem Rotor exists for, shown side by side against the real
 * PostgreSQL of {@link PostgresWithSvids}, with short-lived SVIDs:
 *
 * <ul>
 *   <li>{@value #LEGACY}: loads its client certificate and key once at start (copies them into a
 *       directory of its own) and reconnects with that copy for every query, like a program that
 *       reads its keystore at start-up. It starts failing when that certificate expires and
 *       would need a restart.
 *   <li>{@value #REREADING}: reconnects for every query with the PEM certificate and PKCS#8 DER
 *       key Rotor keeps current, taken from the version directory {@code ..data} points to at
 *       that moment (pgjdbc reads them at every connection). Resolving {@code ..data} once per
 *       connection is Rotor's rule for readers of two files (docs/file-writer.md): a reader that
 *       opens the certificate and the key by their names at every handshake, twice a second,
 *       would sooner or later open them on either side of a rotation and fail that handshake with
 *       {@code decrypt_error}. (The one-file alternative, Rotor's PKCS#12 keystore, is not
 *       usable by pgjdbc 42.7.14 yet: see PostgresRotationIT.)
 *   <li>{@value #POOL}: a HikariCP pool on the PEM certificate and PKCS#8 DER key Rotor keeps
 *       current, whose {@code maxLifetime} makes new connections pick up new files.
 * </ul>
 *
 * <p>Each client queries at a fixed pace on a thread of its own. The drill prints one line per
 * interval (successes and failures per client, and events: rotations, the legacy certificate's
 * expiry), a summary, and writes {@code timeline.csv}, {@code timeline.png} and
 * {@code summary.txt} to the output directory.
 */
public final class RotationDrill {
  public static final String LEGACY = "legacy";
  public static final String REREADING = "rereading";
  public static final String POOL = "pool";

  /**
   * @param svidTtl the SVID TTL the environment was registered with (for the title and summary)
   * @param length how long the clients run; a multiple of {@code interval}
   * @param interval the width of one timeline row
   * @param attemptEvery the pause between two queries of one client
   * @param poolMaxLifetime HikariCP's {@code maxLifetime} for the pool client (>= 30 s)
   * @param outDir where the CSV, PNG and summary go (created if missing)
   */
  public record Options(Duration svidTtl, Duration length, Duration interval, Duration attemptEvery,
      Duration poolMaxLifetime, Path outDir) {
    public Options {
      requireNonNull(svidTtl, "svidTtl");
      requireNonNull(length, "length");
      requireNonNull(interval, "interval");
      requireNonNull(attemptEvery, "attemptEvery");
      requireNonNull(poolMaxLifetime, "poolMaxLifetime");
      requireNonNull(outDir, "outDir");
    }
  }

  /** What the drill produced. {@code legacyExpiry} is relative to the drill's start. */
  public record Result(DrillTimeline timeline, Instant started, Duration legacyExpiry,
      Path csv, Path png, Path summaryFile, String summary) {}

  private static final Duration WATCH_PERIOD = Duration.ofMillis(200);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

  private final PostgresWithSvids environment;
  private final Options options;
  private final PrintStream out;
  private final Clock clock;

  public RotationDrill(PostgresWithSvids environment, Options options, PrintStream out, Clock clock) {
    this.environment = requireNonNull(environment, "environment");
    this.options = requireNonNull(options, "options");
    this.out = requireNonNull(out, "out");
    this.clock = requireNonNull(clock, "clock");
  }

  public Result run() throws InterruptedException {
    ClientFiles live = environment.clientFiles();
    ClientFiles loadedOnce = live.snapshotInto(environment.scratchDir("legacy-loaded-once"));
    Instant legacyNotAfter = PemFiles.leaf(loadedOnce.cert()).getNotAfter().toInstant();
    DrillTimeline timeline = new DrillTimeline(List.of(LEGACY, REREADING, POOL), options.interval(),
        options.length());

    List<SqlClient> clients = new ArrayList<>();
    List<ScheduledExecutorService> executors = new ArrayList<>();
    Instant started;
    try {
      clients.add(new ReconnectingClient(LEGACY, environment.postgres(), loadedOnce));
      clients.add(new ReconnectingClient(REREADING, environment.postgres(),
          () -> PgJdbc.verifyFull(environment.postgres(), environment.clientFilesOfCurrentVersion(), REREADING)));
      clients.add(new PooledClient(POOL, environment.postgres(), live, options.poolMaxLifetime(), 2));

      out.println(title());
      out.println(timeline.header());
      started = clock.instant();
      Duration legacyExpiry = Duration.between(started, legacyNotAfter);
      timeline.event(legacyExpiry, DrillTimeline.LEGACY_EXPIRED);
      for (SqlClient client : clients) {
        ScheduledExecutorService executor = singleThread("drill-" + client.name());
        executors.add(executor);
        executor.scheduleWithFixedDelay(() -> attempt(client, timeline, started), 0,
            options.attemptEvery().toMillis(), TimeUnit.MILLISECONDS);
      }
      ScheduledExecutorService watcher = singleThread("drill-watch");
      executors.add(watcher);
      watchRotations(watcher, timeline, started);

      // Print each interval's row once it is over (its counts are final then).
      CountDownLatch done = new CountDownLatch(timeline.intervals());
      AtomicInteger next = new AtomicInteger();
      ScheduledExecutorService printer = singleThread("drill-print");
      executors.add(printer);
      printer.scheduleAtFixedRate(() -> {
        while (next.get() < timeline.intervals() && !elapsed(started)
            .minus(options.interval().multipliedBy(next.get() + 1L)).isNegative()) {
          out.println(DrillTimeline.format(timeline.row(next.getAndIncrement())));
          done.countDown();
        }
      }, 100, 100, TimeUnit.MILLISECONDS);
      if (!done.await(options.length().plus(STOP_TIMEOUT).toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("the drill did not finish its " + timeline.intervals()
            + " intervals within " + options.length().plus(STOP_TIMEOUT));
      }
      stop(executors);
      return report(timeline, started, legacyExpiry);
    } finally {
      stop(executors);
      for (SqlClient client : clients) {
        client.close();
      }
    }
  }

  private void attempt(SqlClient client, DrillTimeline timeline, Instant started) {
    Duration begin = elapsed(started);
    try {
      client.query();
      timeline.record(new DrillTimeline.Attempt(client.name(), begin, elapsed(started), true, ""));
    } catch (SQLException | RuntimeException e) {
      timeline.record(new DrillTimeline.Attempt(client.name(), begin, elapsed(started), false,
          rootMessage(e)));
    }
  }

  private void watchRotations(ScheduledExecutorService watcher, DrillTimeline timeline, Instant started) {
    Path serverCert = environment.postgres().serverCertFile();
    Path clientCert = environment.clientFiles().cert();
    AtomicReference<BigInteger> server = new AtomicReference<>(serial(serverCert).orElse(null));
    AtomicReference<BigInteger> client = new AtomicReference<>(serial(clientCert).orElse(null));
    watcher.scheduleWithFixedDelay(() -> {
      serial(serverCert).filter(s -> !s.equals(server.getAndSet(s)))
          .ifPresent(s -> timeline.event(elapsed(started), DrillTimeline.SERVER_ROTATED));
      serial(clientCert).filter(s -> !s.equals(client.getAndSet(s)))
          .ifPresent(s -> timeline.event(elapsed(started), DrillTimeline.CLIENT_ROTATED));
    }, WATCH_PERIOD.toMillis(), WATCH_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static Optional<BigInteger> serial(Path certFile) {
    try {
      return PemFiles.serialIfPresent(certFile);
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  private Result report(DrillTimeline timeline, Instant started, Duration legacyExpiry) {
    StringBuilder summary = new StringBuilder();
    summary.append(title()).append('\n');
    summary.append(line(timeline, LEGACY, "loads its certificate once, reconnects with it"));
    summary.append(String.format(Locale.ROOT, "%12s certificate expired at %+.1f s", "",
        DrillTimeline.seconds(legacyExpiry)));
    timeline.attempts(LEGACY).stream().filter(a -> !a.ok()).findFirst().ifPresent(a -> summary.append(
        String.format(Locale.ROOT, "; first failure at %+.1f s: %s", DrillTimeline.seconds(a.started()),
            a.error())));
    summary.append('\n');
    summary.append(line(timeline, REREADING, "new connection per query, PEM + .pk8 of the current ..data version"));
    summary.append(line(timeline, POOL, "HikariCP, maxLifetime " + options.poolMaxLifetime().toSeconds()
        + " s, PEM + .pk8 files Rotor keeps current"));
    summary.append(String.format(Locale.ROOT, "rotations seen: server certificate %d, client certificate %d%n",
        count(timeline, DrillTimeline.SERVER_ROTATED), count(timeline, DrillTimeline.CLIENT_ROTATED)));

    Path dir = options.outDir();
    Path csv = dir.resolve("timeline.csv");
    Path png = dir.resolve("timeline.png");
    Path summaryFile = dir.resolve("summary.txt");
    try {
      Files.createDirectories(dir);
      timeline.writeCsv(csv);
      DrillChart.writePng(DrillChart.render(timeline, title()), png);
      summary.append("outputs: ").append(csv).append(", ").append(png).append(", ").append(summaryFile)
          .append('\n');
      Files.writeString(summaryFile, summary, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the drill's outputs to " + dir, e);
    }
    out.print(summary);
    return new Result(timeline, started, legacyExpiry, csv, png, summaryFile, summary.toString());
  }

  private String title() {
    return String.format(Locale.ROOT, "Rotation drill: SVID TTL %d s, %d s, one query per client every %d ms,"
            + " rows of %d s", options.svidTtl().toSeconds(), options.length().toSeconds(),
        options.attemptEvery().toMillis(), options.interval().toSeconds());
  }

  private static String line(DrillTimeline timeline, String client, String what) {
    DrillTimeline.Counts total = timeline.total(client);
    return String.format(Locale.ROOT, "%-10s  %5d ok %5d failed  (%s)%n", client, total.ok(), total.failed(), what);
  }

  private static long count(DrillTimeline timeline, String what) {
    return timeline.events().stream().filter(e -> e.what().equals(what)).count();
  }

  private Duration elapsed(Instant started) {
    return Duration.between(started, clock.instant());
  }

  private static ScheduledExecutorService singleThread(String name) {
    return Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    });
  }

  private static void stop(List<ScheduledExecutorService> executors) throws InterruptedException {
    for (ScheduledExecutorService executor : executors) {
      executor.shutdownNow();
    }
    for (ScheduledExecutorService executor : executors) {
      executor.awaitTermination(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  /** The innermost cause's message: the TLS alert or PostgreSQL's FATAL, not pgjdbc's wrapper. */
  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getClass().getSimpleName() + ": " + root.getMessage();
    return root == e ? message : e.getMessage() + " <- " + message;
  }
}
