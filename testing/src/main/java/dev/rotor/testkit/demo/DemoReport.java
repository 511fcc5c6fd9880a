package dev.rotor.testkit.demo;

import dev.rotor.testkit.clients.KeepAliveClient;
import dev.rotor.testkit.demo.RotationWatch.Source;
import dev.rotor.testkit.drill.DrillChart;
import dev.rotor.testkit.drill.DrillChart.Mark;
import dev.rotor.testkit.drill.DrillTimeline;
import dev.rotor.testkit.rotor.PushLog;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What one {@link DemoRun} saw, from its start to its end: every call of the demo frontend and of
 * the keep-alive client, the legacy clients' attempts, the rogue's attempts, every certificate the
 * {@link RotationWatch} saw, and both Rotors' push logs. Draws the timeline (the rotation drill's
 * chart, one lane per client) and writes it with a summary.
 */
public final class DemoReport {
  public static final String FRONTEND = "frontend";
  public static final String CA_ROTATED = "CA rotated";

  private static final List<Mark> MARKS = List.of(
      Mark.tick(rotated("frontend"), new Color(0x1f, 0x5f, 0xbf), "frontend SVID rotated"),
      Mark.tick(rotated("backend"), new Color(0x8a, 0x3f, 0xb0), "backend SVID rotated"),
      Mark.tick(rotated("database"), new Color(0x11, 0x88, 0x88), "database SVID rotated"),
      Mark.tick(CA_ROTATED, new Color(0xe0, 0x80, 0x10), "CA rotated"),
      Mark.line(expired(LegacyClient.MTLS), new Color(0x80, 0x10, 0x10), LegacyClient.MTLS + " certificate expires"),
      Mark.line(expired(LegacyClient.DATABASE), new Color(0x60, 0x40, 0x10), LegacyClient.DATABASE + " certificate expires"));

  /**
   * What the Envoys said about connection lifetimes at the end (see {@code DemoRun}): the bound,
   * the longest frontend-to-backend TLS connection, the longest at the backend's listener, and how
   * many the backend's listener closed for their age.
   */
  public record ConnectionAges(Duration maxConnectionDuration, Optional<Duration> longestUpstream,
      Optional<Duration> longestAtBackendListener, long closedForAge) {}

  /** Where {@link #write} put the outputs. */
  public record Outputs(Path csv, Path png, Path summary) {}

  private final LocalDemoStack.Options stackOptions;
  private final Instant started;
  private final Instant ended;
  private final ConnectionAges connectionAges;
  private final List<FrontendCalls.Call> calls;
  private final List<KeepAliveClient.Result> keepAliveRequests;
  private final List<KeepAliveClient.Connection> keepAliveConnections;
  private final List<LegacyClient> legacy;
  private final List<RogueCaller.Attempt> rogue;
  private final RotationWatch watch;
  private final List<PushLog.Response> frontendPushes;
  private final List<PushLog.Response> backendPushes;
  private Outputs outputs;

  DemoReport(LocalDemoStack.Options stackOptions, Instant started, Instant ended, ConnectionAges connectionAges,
      List<FrontendCalls.Call> calls,
      List<KeepAliveClient.Result> keepAliveRequests, List<KeepAliveClient.Connection> keepAliveConnections,
      List<LegacyClient> legacy, List<RogueCaller.Attempt> rogue, RotationWatch watch,
      List<PushLog.Response> frontendPushes, List<PushLog.Response> backendPushes) {
    this.stackOptions = stackOptions;
    this.started = started;
    this.ended = ended;
    this.connectionAges = connectionAges;
    this.calls = List.copyOf(calls);
    this.keepAliveRequests = List.copyOf(keepAliveRequests);
    this.keepAliveConnections = List.copyOf(keepAliveConnections);
    this.legacy = List.copyOf(legacy);
    this.rogue = List.copyOf(rogue);
    this.watch = watch;
    this.frontendPushes = List.copyOf(frontendPushes);
    this.backendPushes = List.copyOf(backendPushes);
  }

  static String rotated(String identity) {
    return identity + " SVID rotated";
  }

  static String expired(String legacyClient) {
    return legacyClient + " certificate expired";
  }

  // ---- what the run saw

  public Instant started() {
    return started;
  }

  public Instant ended() {
    return ended;
  }

  public ConnectionAges connectionAges() {
    return connectionAges;
  }

  public List<FrontendCalls.Call> calls() {
    return calls;
  }

  public List<KeepAliveClient.Result> keepAliveRequests() {
    return keepAliveRequests;
  }

  public List<KeepAliveClient.Connection> keepAliveConnections() {
    return keepAliveConnections;
  }

  public List<LegacyClient> legacyClients() {
    return legacy;
  }

  public List<RogueCaller.Attempt> rogueAttempts() {
    return rogue;
  }

  public RotationWatch watch() {
    return watch;
  }

  /** The responses a Rotor's push log shows for {@code node} (frontend or backend). */
  public List<PushLog.Response> pushes(String node) {
    return (node.equals("frontend") ? frontendPushes : backendPushes).stream()
        .filter(r -> r.node().equals(node)).toList();
  }

  /** The serials of {@code default} a Rotor pushed to {@code node} during the run, in order, lower-case hex. */
  public List<String> pushedSerials(String node) {
    return pushes(node).stream()
        .filter(r -> !r.time().isBefore(started) && r.resources().contains("default") && !r.serials().isEmpty())
        .map(r -> r.serials().get(0)).distinct().toList();
  }

  public Outputs outputs() {
    return outputs;
  }

  /**
   * What {@code --check} fails on: failed calls of either client, a rogue attempt not refused, a
   * connection that outlived a certificate it was made with.
   */
  public List<String> problems() {
    List<String> problems = new ArrayList<>();
    calls.stream().filter(c -> !c.ok()).limit(10).forEach(c -> problems.add("frontend call at " + c.at()
        + " failed: status " + c.status() + " " + c.error()));
    keepAliveRequests.stream().filter(r -> !r.ok()).limit(10).forEach(r -> problems.add("keep-alive request at "
        + r.started() + " failed: " + r.failure()));
    rogue.stream().filter(a -> !a.refused()).limit(10).forEach(a -> problems.add("rogue attempt at " + a.at()
        + " (" + a.kind() + ") not refused: " + a.answer()));
    if (calls.isEmpty()) {
      problems.add("the frontend made no call");
    }
    problems.addAll(connectionsThatOutlivedTheirCertificates());
    return problems;
  }

  /**
   * The keep-alive client's connections (each one TLS connection from the frontend's Envoy to the
   * backend's) that were still open when a certificate they were made with expired: the one each
   * Envoy held when the connection opened. Where a rotation falls within a second of the opening
   * (the watch sees one up to 250 ms late), the older, earlier-expiring certificate is taken.
   */
  public List<String> connectionsThatOutlivedTheirCertificates() {
    List<String> outlived = new ArrayList<>();
    for (KeepAliveClient.Connection c : keepAliveConnections) {
      for (Source envoy : List.of(Source.FRONTEND_ENVOY, Source.BACKEND_ENVOY)) {
        Optional<Instant> expiry = earliestExpiryAround(envoy, c.opened());
        if (expiry.isEmpty() || !c.closed().isBefore(expiry.get())) {
          outlived.add("connection opened at " + c.opened() + ", closed at " + c.closed() + " (" + c.requests()
              + " requests): the " + envoy.where() + "'s certificate then " + expiry.map(e -> "expired at " + e)
              .orElse("is unknown"));
        }
      }
    }
    return outlived;
  }

  private Optional<Instant> earliestExpiryAround(Source source, Instant at) {
    List<RotationWatch.Sighting> seen = watch.sightings(source);
    Optional<Instant> expiry = Optional.empty();
    for (int i = 0; i < seen.size(); i++) {
      Instant from = seen.get(i).firstSeen();
      Instant to = i + 1 < seen.size() ? seen.get(i + 1).firstSeen() : Instant.MAX;
      Instant notAfter = seen.get(i).notAfter();
      if (from.isBefore(at.plusSeconds(1)) && to.isAfter(at.minusSeconds(1))
          && expiry.map(notAfter::isBefore).orElse(true)) {
        expiry = Optional.of(notAfter);
      }
    }
    return expiry;
  }

  // ---- timeline and summary

  /** The run as the drill's timeline: a lane per client, rows of {@code interval}. */
  public DrillTimeline timeline(Duration interval) {
    long rows = Math.max(1, (Duration.between(started, ended).toMillis() + interval.toMillis() - 1) / interval.toMillis());
    List<String> lanes = new ArrayList<>(List.of(FRONTEND, LongLivedClient.NAME));
    legacy.forEach(l -> lanes.add(l.name()));
    DrillTimeline timeline = new DrillTimeline(lanes, interval, interval.multipliedBy(rows));
    for (FrontendCalls.Call c : calls) {
      timeline.record(new DrillTimeline.Attempt(FRONTEND, since(c.at()), since(c.at()).plusMillis(Math.max(0,
          c.latencyMillis())), c.ok(), c.error()));
    }
    for (KeepAliveClient.Result r : keepAliveRequests) {
      timeline.record(new DrillTimeline.Attempt(LongLivedClient.NAME, since(r.started()), since(r.ended()), r.ok(), r.failure()));
    }
    for (LegacyClient client : legacy) {
      for (LegacyClient.Attempt a : client.attempts()) {
        timeline.record(new DrillTimeline.Attempt(a.client(), since(a.started()), since(a.ended()), a.ok(), a.error()));
      }
      if (client.notAfter().isAfter(started)) {
        timeline.event(since(client.notAfter()), expired(client.name()));
      }
    }
    for (Source source : RotationWatch.PRIMARY) {
      List<RotationWatch.Sighting> seen = watch.sightings(source);
      for (RotationWatch.Sighting s : seen.subList(Math.min(1, seen.size()), seen.size())) {
        if (!s.firstSeen().isBefore(started)) {
          timeline.event(since(s.firstSeen()), rotated(source.identity()));
        }
      }
    }
    watch.caRotations().forEach(r -> timeline.event(since(r.at()), CA_ROTATED));
    return timeline;
  }

  private Duration since(Instant at) {
    return Duration.between(started, at).isNegative() ? Duration.ZERO : Duration.between(started, at);
  }

  public String title() {
    return String.format(Locale.ROOT, "Rotor local demo: SVID TTL %d s, CA TTL %d s, Envoy %s",
        stackOptions.svidTtl().toSeconds(), stackOptions.caTtl().toSeconds(), stackOptions.envoyVersion());
  }

  /** The summary people read at the end (and {@code summary.txt}). */
  public String summary() {
    StringBuilder out = new StringBuilder(title()).append(String.format(Locale.ROOT, ", %.1f s%n",
        Duration.between(started, ended).toMillis() / 1000.0));
    long failed = calls.stream().filter(c -> !c.ok()).count();
    out.append(String.format(Locale.ROOT, "%-12s %d calls: %d ok, %d failed (frontend -> its Envoy -> mTLS + RBAC ->"
        + " backend -> PostgreSQL over SVID mTLS)%n", FRONTEND, calls.size(), calls.size() - failed, failed));
    out.append(String.format(Locale.ROOT, "%-12s callers the backend saw: %s; client certificate serials PostgreSQL"
        + " saw (pg_stat_ssl): %d%n", "", count(calls, c -> c.callerSpiffeId().orElse("(none)")),
        calls.stream().flatMap(c -> c.databaseClientSerial().stream()).distinct().count()));
    long keepAliveFailed = keepAliveRequests.stream().filter(r -> !r.ok()).count();
    out.append(String.format(Locale.ROOT, "%-12s %d requests: %d ok, %d failed, %d sent again after the server had"
        + " closed the idle connection; %d connections, longest seen open %s%n", LongLivedClient.NAME,
        keepAliveRequests.size(), keepAliveRequests.size() - keepAliveFailed, keepAliveFailed,
        keepAliveRequests.stream().filter(KeepAliveClient.Result::retried).count(), keepAliveConnections.size(),
        longestConnection()));
    out.append(String.format(Locale.ROOT, "%-12s max duration %d s (shortest SVID %d s): longest TLS connection"
            + " frontend Envoy -> backend Envoy %s, longest at the backend's listener %s (Envoy's *_cx_length_ms,"
            + " largest); %d closed for their age; keep-alive connections that outlived a certificate they were made"
            + " with: %d%n", "connections", connectionAges.maxConnectionDuration().toSeconds(),
        stackOptions.shortestSvid().toSeconds(), seconds(connectionAges.longestUpstream()),
        seconds(connectionAges.longestAtBackendListener()), connectionAges.closedForAge(),
        connectionsThatOutlivedTheirCertificates().size()));
    out.append(String.format(Locale.ROOT, "%-12s frontend %d, backend %d (database client files %d), database %d"
        + " (served by PostgreSQL %d)%n", "rotations", watch.rotations(Source.FRONTEND_ENVOY),
        watch.rotations(Source.BACKEND_ENVOY), watch.rotations(Source.BACKEND_DB_FILES),
        watch.rotations(Source.DATABASE_FILES), watch.rotations(Source.DATABASE_SERVED)));
    out.append(String.format(Locale.ROOT, "%-12s %d%s%n", "CA rotations", watch.caRotations().size(),
        watch.caRotations().stream().map(r -> String.format(Locale.ROOT, " (at %+.1f s: CA key %s -> %s)",
            seconds(r.at()), r.fromKeyId(), r.toKeyId())).collect(Collectors.joining())));
    long refused = rogue.stream().filter(RogueCaller.Attempt::refused).count();
    out.append(String.format(Locale.ROOT, "%-12s %d attempts, %d refused: %s%n", "rogue", rogue.size(), refused,
        count(rogue, a -> a.kind() + " -> " + a.answer())));
    for (LegacyClient client : legacy) {
      List<LegacyClient.Attempt> before = client.attempts().stream().filter(a -> a.ended().isBefore(client.notAfter())).toList();
      List<LegacyClient.Attempt> after = client.attempts().stream().filter(a -> !a.started().isBefore(client.notAfter())).toList();
      out.append(String.format(Locale.ROOT, "%-12s loaded its certificate once; it expired at %+.1f s. Before: %d ok,"
              + " %d failed. After: %d ok, %d failed%s%n", client.name(), seconds(client.notAfter()),
          before.stream().filter(LegacyClient.Attempt::ok).count(), before.stream().filter(a -> !a.ok()).count(),
          after.stream().filter(LegacyClient.Attempt::ok).count(), after.stream().filter(a -> !a.ok()).count(),
          after.stream().filter(a -> !a.ok()).findFirst().map(a -> " (" + a.error() + ")").orElse("")));
    }
    if (outputs != null) {
      out.append("outputs: ").append(outputs.csv()).append(", ").append(outputs.png()).append(", ")
          .append(outputs.summary()).append('\n');
    }
    return out.toString();
  }

  private String longestConnection() {
    return seconds(keepAliveConnections.stream().map(KeepAliveClient.Connection::age).max(Duration::compareTo));
  }

  private static String seconds(Optional<Duration> d) {
    return d.map(x -> String.format(Locale.ROOT, "%.1f s", x.toMillis() / 1000.0)).orElse("(none)");
  }

  private double seconds(Instant at) {
    return Duration.between(started, at).toMillis() / 1000.0;
  }

  private static <T> Map<String, Long> count(List<T> items, Function<T, String> key) {
    return items.stream().collect(Collectors.groupingBy(key, TreeMap::new, Collectors.counting()));
  }

  /** Writes timeline.csv, timeline.png and summary.txt into {@code dir}. */
  void write(Path dir, Duration interval) {
    try {
      Files.createDirectories(dir);
      DrillTimeline timeline = timeline(interval);
      Outputs out = new Outputs(dir.resolve("timeline.csv"), dir.resolve("timeline.png"), dir.resolve("summary.txt"));
      timeline.writeCsv(out.csv());
      DrillChart.writePng(DrillChart.render(timeline, title(), MARKS), out.png());
      outputs = out;
      Files.writeString(out.summary(), summary(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the demo's outputs to " + dir, e);
    }
  }
}
