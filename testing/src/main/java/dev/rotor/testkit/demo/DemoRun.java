package dev.rotor.testkit.demo;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.rotor.testkit.demo.RotationWatch.CaRotation;
import dev.rotor.testkit.demo.RotationWatch.Sighting;
import dev.rotor.testkit.envoy.EnvoyAdmin;
import dev.rotor.testkit.rotor.PushLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What runs on top of a {@link LocalDemoStack} while people watch it or a test checks it: the
 * {@link RotationWatch}, the {@link RogueCaller}, the two {@link LegacyClient}s, the {@link
 * LongLivedClient}, and a follower of the demo frontend's log. Each event is handed to an {@link
 * Output} as one line as it happens; {@link #finish} stops them and returns a {@link DemoReport}.
 */
public final class DemoRun implements AutoCloseable {
  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

  /** The kinds of line a run prints. */
  public enum Kind { CALL, ROTATION, CA_ROTATION, ROGUE }

  /** Hears each line (from the observers' threads). */
  @FunctionalInterface
  public interface Output {
    void line(Kind kind, String text);
  }

  /**
   * @param rogueEvery time between two rounds of the rogue callers
   * @param legacyEvery time between two attempts of each legacy client
   * @param keepAliveEvery time between two requests of the keep-alive client
   * @param timelineInterval the width of one row of the timeline
   * @param outDir where the timeline (CSV, PNG) and the summary go
   */
  public record Options(Duration rogueEvery, Duration legacyEvery, Duration keepAliveEvery, Duration timelineInterval,
      Path outDir) {
    public Options {
      requireNonNull(rogueEvery, "rogueEvery");
      requireNonNull(legacyEvery, "legacyEvery");
      requireNonNull(keepAliveEvery, "keepAliveEvery");
      requireNonNull(timelineInterval, "timelineInterval");
      requireNonNull(outDir, "outDir");
    }
  }

  private final LocalDemoStack stack;
  private final Options options;
  private final Output output;
  private final Instant started = Instant.now();
  private RotationWatch watch;
  private RogueCaller rogue;
  private LegacyClient legacyMtls;
  private LegacyClient legacyDatabase;
  private LongLivedClient keepAlive;
  private LogFollower frontendLog;

  private DemoRun(LocalDemoStack stack, Options options, Output output) {
    this.stack = stack;
    this.options = options;
    this.output = output;
  }

  /** Starts every observer; the legacy clients load their certificates now. */
  public static DemoRun start(LocalDemoStack stack, Options options, Output output) {
    DemoRun run = new DemoRun(requireNonNull(stack, "stack"), requireNonNull(options, "options"),
        requireNonNull(output, "output"));
    try {
      run.frontendLog = LogFollower.fromEnd(stack.frontendLog(), run::frontendLine, Duration.ofMillis(200));
      run.watch = RotationWatch.start(stack, new RotationWatch.Listener() {
        @Override
        public void rotated(Sighting previous, Sighting next) {
          run.rotated(previous, next);
        }

        @Override
        public void caRotated(CaRotation rotation) {
          run.caRotated(rotation);
        }
      });
      run.legacyMtls = LegacyClient.mtls(stack, options.legacyEvery());
      run.legacyDatabase = LegacyClient.database(stack, options.legacyEvery());
      run.keepAlive = LongLivedClient.start(stack.frontendPort(), "/api/demo", options.keepAliveEvery());
      run.rogue = RogueCaller.start(stack, options.rogueEvery(), run::rogueRound);
      return run;
    } catch (RuntimeException e) {
      run.close();
      throw e;
    }
  }

  public Instant started() {
    return started;
  }

  public RotationWatch watch() {
    return watch;
  }

  public RogueCaller rogue() {
    return rogue;
  }

  public LongLivedClient keepAlive() {
    return keepAlive;
  }

  public List<LegacyClient> legacyClients() {
    return List.of(legacyMtls, legacyDatabase);
  }

  /** Stops the observers (not the stack), and writes and returns the report. */
  public DemoReport finish() {
    Instant ended = Instant.now();
    close();
    DemoReport report = new DemoReport(stack.options(), started, ended, connectionAges(),
        FrontendCalls.read(stack.frontendLog()).stream().filter(c -> !c.at().isBefore(started)).toList(),
        keepAlive.requests(), keepAlive.closedConnections(),
        legacyClients(), rogue.attempts(), watch,
        PushLog.responses(stack.frontendRotor().stdoutLines()), PushLog.responses(stack.backendRotor().stdoutLines()));
    report.write(options.outDir(), options.timelineInterval());
    return report;
  }

  /**
   * What the Envoys say about connection lifetimes: the longest TLS connection from the frontend's
   * Envoy to the backend's (its cluster's {@code upstream_cx_length_ms}) and the longest at the
   * backend's listener ({@code downstream_cx_length_ms}), as of Envoy's last stats flush, and how
   * many connections the backend's listener closed for their age.
   */
  private DemoReport.ConnectionAges connectionAges() {
    Duration bound = stack.options().maxConnectionDuration();
    int port = stack.backendPort();
    try {
      EnvoyAdmin frontend = stack.frontendEnvoy().admin();
      EnvoyAdmin backend = stack.backendEnvoy().admin();
      return new DemoReport.ConnectionAges(bound,
          frontend.histogramQuantile("cluster.outbound_backend.upstream_cx_length_ms", 100).map(DemoRun::millis),
          backend.histogramQuantile("listener.0.0.0.0_" + port + ".downstream_cx_length_ms", 100).map(DemoRun::millis),
          backend.stat("http.inbound_" + port + ".downstream_cx_max_duration_reached"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the Envoys' connection statistics", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while reading the Envoys' statistics", e);
    }
  }

  private static Duration millis(double ms) {
    return Duration.ofMillis(Math.round(ms));
  }

  // ---- lines as things happen

  /** The frontend's line, cut to what the Kubernetes walkthrough's jq filter shows. */
  private void frontendLine(String line) {
    if (!line.contains("\"demo.frontend.calls\"")) {
      return;
    }
    JsonObject o = JsonParser.parseString(line).getAsJsonObject();
    JsonObject out = new JsonObject();
    for (String field : List.of("time", "outcome", "status", "latency_ms")) {
      if (o.has(field)) {
        out.add(field, o.get(field));
      }
    }
    FrontendCalls.parse(line).ifPresent(call -> {
      call.callerSpiffeId().ifPresent(id -> out.addProperty("caller", id));
      call.databaseClientSerialHex().ifPresent(serial -> out.addProperty("db_cert", serial));
      if (!call.ok()) {
        out.addProperty("error", call.error());
      }
    });
    output.line(Kind.CALL, out.toString());
  }

  private void rotated(Sighting previous, Sighting next) {
    output.line(Kind.ROTATION, String.format(Locale.ROOT, "%s  rotation  %-8s  %-30s %s -> %s  (valid until %s)",
        time(next.firstSeen()), next.source().identity(), next.source().where(), previous.serialHex(),
        next.serialHex(), time(next.notAfter())));
  }

  private void caRotated(CaRotation rotation) {
    output.line(Kind.CA_ROTATION, String.format(Locale.ROOT,
        "%s  CA ROTATION  SVIDs are now signed by CA key %s (was %s), first seen on %s", time(rotation.at()),
        rotation.toKeyId(), rotation.fromKeyId(), rotation.source().where()));
  }

  private void rogueRound(List<RogueCaller.Attempt> attempts) {
    if (attempts.isEmpty()) {
      return;
    }
    String what = attempts.stream()
        .map(a -> a.kind() + ": " + a.answer() + (a.refused() ? " (refused)" : " (NOT REFUSED)"))
        .collect(Collectors.joining("; "));
    output.line(Kind.ROGUE, time(attempts.get(0).at()) + "  rogue  " + what);
  }

  private static String time(Instant at) {
    return LocalTime.ofInstant(at, ZoneId.systemDefault()).format(CLOCK);
  }

  /** Stops every observer that was started; idempotent. */
  @Override
  public void close() {
    for (AutoCloseable observer : new AutoCloseable[] {rogue, keepAlive, legacyDatabase, legacyMtls, watch, frontendLog}) {
      if (observer != null) {
        try {
          observer.close();
        } catch (Exception e) {
          System.err.println("cannot stop " + observer + ": " + e);
        }
      }
    }
  }
}
