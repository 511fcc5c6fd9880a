package dev.rotor.bench.scenario;

import dev.rotor.bench.harness.BenchContext;
import dev.rotor.bench.harness.CpuSampler;
import dev.rotor.bench.harness.LoadRun;
import dev.rotor.bench.harness.ProcFs;
import dev.rotor.bench.harness.Spire;
import dev.rotor.bench.harness.Stats;
import dev.rotor.bench.harness.Waits;
import dev.rotor.bench.load.ArrivalLog;
import dev.rotor.bench.load.LoadOptions;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Scenario 1, rotation fan-out: N streams subscribed to {@code default}, one identity change at a
 * time, delivered by each system under test. See {@code bench/README.md} for how the trigger is
 * defined per system and what its error is.
 */
public final class FanOut {

  /** The systems compared. */
  public enum Subject {
    ROTOR_DEV("Rotor, dev CA"),
    ROTOR_DEV_NO_PUSH_LOG("Rotor, dev CA, push log off"),
    ROTOR_SPIRE("Rotor fed by SPIRE agent"),
    SPIRE_AGENT("SPIRE agent's own SDS"),
    JCP("java-control-plane V3DiscoveryServer+SimpleCache");

    public final String label;

    Subject(String label) {
      this.label = label;
    }

    boolean needsSpire() {
      return this == ROTOR_SPIRE || this == SPIRE_AGENT;
    }
  }

  /** JVM options of Rotor and the java-control-plane peer here: those of the {@code rotor} script. */
  public static final List<String> SERVER_JVM = List.of("-XX:+UseSerialGC", "-Xss512k", "-XX:MaxRAMPercentage=50");

  /** One run: one subject, N streams, a few rotations. */
  public record Run(
      String subject,
      int streams,
      int round,
      String end,
      long rssBeforeKiB,
      long rssIdleKiB,
      long rssAfterKiB,
      int streamErrors,
      List<Rotation> rotations) {}

  private final BenchContext ctx;
  private final Supplier<Spire> spire;
  private final Duration devTtl;

  public FanOut(BenchContext ctx, Supplier<Spire> spire, Duration devTtl) {
    this.ctx = ctx;
    this.spire = spire;
    this.devTtl = devTtl;
  }

  /** Runs one subject with N streams until {@code measured} rotations (plus one warm-up) reached all. */
  public Run run(Subject subject, int n, int measured, int round, int perConnection, Optional<Path> jfr)
      throws IOException {
    Path dir = ctx.newDir(shortName(subject) + "-" + n);
    Path socket;
    ManagedProcess server = null;
    Spire sp = subject.needsSpire() ? spire.get() : null;
    long serverPid;
    Long upstreamPid = null;
    try {
      switch (subject) {
        case ROTOR_DEV, ROTOR_DEV_NO_PUSH_LOG -> {
          socket = dir.resolve("sds.sock");
          List<String> jvm = new ArrayList<>(SERVER_JVM);
          if (subject == Subject.ROTOR_DEV_NO_PUSH_LOG) {
            jvm.add("-Dlogback.configurationFile=" + quietLogConfig(dir));
          }
          // 1 ms sampling: the default 10-20 ms gives too few samples in a sub-second fan-out.
          jfr.ifPresent(f -> jvm.add("-XX:StartFlightRecording=filename=" + f
              + ",settings=profile,jdk.ExecutionSample#period=1ms"));
          server = BenchContext.start("rotor", dir, Map.of(), ctx.rotorServe(jvm, List.of(
              "--dev", "--svid-ttl", devTtl.toSeconds() + "s", "--sds-socket", socket.toString(),
              "--allowed-uid", Integer.toString(BenchContext.uid()))));
        }
        case ROTOR_SPIRE -> {
          socket = dir.resolve("sds.sock");
          server = BenchContext.start("rotor", dir, Map.of(), ctx.rotorServe(SERVER_JVM, List.of(
              "--workload-api", "unix://" + sp.agentSocket(), "--trust-domain", "example.org",
              "--sds-socket", socket.toString(), "--allowed-uid", Integer.toString(BenchContext.uid()))));
          upstreamPid = sp.agentPid();
        }
        case SPIRE_AGENT -> socket = sp.agentSocket();
        case JCP -> {
          socket = dir.resolve("jcp.sock");
          server = BenchContext.start("jcp", dir, Map.of(), ctx.javaMain(SERVER_JVM,
              "dev.rotor.bench.peers.JcpServerMain", List.of("--socket", socket.toString(),
                  "--rotate-every-ms", Long.toString(devTtl.toMillis() / 2))));
        }
        default -> throw new IllegalStateException(subject.name());
      }
      Waits.forFile(socket, Duration.ofSeconds(60), server);
      serverPid = server != null ? server.pid() : sp.agentPid();
      Waits.sleep(1000);
      long rssBefore = ProcFs.rssKiB(serverPid).orElse(-1);

      Duration timeout = devTtl.multipliedBy(measured + 3).plusSeconds(60 + n / 100);
      LoadOptions lo = new LoadOptions(socket, LoadOptions.Mode.SDS, n, perConnection, List.of("default"), "envoy",
          measured + 1, dir.resolve("arrivals.txt"), timeout,
          subject.needsSpire() ? Optional.of(sp.agentSocket()) : Optional.empty(), 2, Duration.ZERO);
      LoadRun.Outcome outcome;
      long rssIdle;
      List<CpuSampler.Sample> cpu;
      List<CpuSampler.Sample> upstreamCpu = List.of();
      try (CpuSampler sampler = new CpuSampler(serverPid, 20);
          CpuSampler upstream = upstreamPid != null ? new CpuSampler(upstreamPid, 20) : null;
          LoadRun load = LoadRun.start(ctx, dir, "load", lo)) {
        load.awaitReady(timeout);
        rssIdle = ProcFs.rssKiB(serverPid).orElse(-1);
        outcome = load.finish(timeout.plusSeconds(30));
        cpu = sampler.samples();
        if (upstream != null) {
          upstreamCpu = upstream.samples();
        }
      }
      long rssAfter = ProcFs.rssKiB(serverPid).orElse(-1);
      List<Trigger> triggers = switch (subject) {
        case ROTOR_DEV, ROTOR_DEV_NO_PUSH_LOG -> Trigger.fromRotorDevLog(Waits.lines(dir.resolve("rotor.out")));
        case JCP -> Trigger.fromJcpLog(Waits.lines(dir.resolve("jcp.out")));
        default -> outcome.log().probe().stream()
            .map(p -> new Trigger(p.nanos(), Trigger.normalize(p.serial()))).toList();
      };
      List<Rotation> rotations = analyze(outcome.log(), triggers, subject == Subject.SPIRE_AGENT, cpu, upstreamCpu);
      return new Run(subject.name(), n, round, outcome.end(), rssBefore, rssIdle, rssAfter,
          outcome.log().errors().size(), rotations);
    } finally {
      if (server != null) {
        server.stop(Duration.ofSeconds(10));
      }
    }
  }

  /**
   * Turns an arrival log into rotations. A rotation is a version first seen after every stream
   * had its first response and then delivered to all N (one seen earlier by some stream is not
   * clean: it raced with the streams' set-up). Its trigger is the one carrying the same leaf
   * serial; with {@code triggerNoLaterThanFirstArrival} (the SPIRE agent, whose trigger is a
   * Workload API probe that competes with the N streams for the same agent) the trigger is the
   * earlier of the probe and the first delivery, so a late probe cannot make latencies negative.
   */
  static List<Rotation> analyze(ArrivalLog log, List<Trigger> triggers, boolean triggerNoLaterThanFirstArrival,
      List<CpuSampler.Sample> cpu, List<CpuSampler.Sample> upstreamCpu) {
    Map<String, Map<Integer, Long>> firstByVersion = new HashMap<>();
    Map<String, Integer> duplicates = new HashMap<>();
    Map<String, Long> versionFirstSeen = new HashMap<>();
    for (ArrivalLog.Arrival a : log.arrivals()) {
      Map<Integer, Long> m = firstByVersion.computeIfAbsent(a.version(), v -> new HashMap<>());
      if (m.putIfAbsent(a.stream(), a.nanos()) != null) {
        duplicates.merge(a.version(), 1, Integer::sum);
      }
      versionFirstSeen.merge(a.version(), a.nanos(), Math::min);
    }
    List<String> clean = new ArrayList<>();
    for (var e : firstByVersion.entrySet()) {
      if (versionFirstSeen.get(e.getKey()) > log.readyNanos() && log.readyNanos() > 0
          && e.getValue().size() == log.streams()) {
        clean.add(e.getKey());
      }
    }
    clean.sort(Comparator.comparing(versionFirstSeen::get));
    List<Rotation> out = new ArrayList<>();
    for (int i = 0; i < clean.size(); i++) {
      String v = clean.get(i);
      long first = versionFirstSeen.get(v);
      Optional<String> serial = log.serialOf(v).map(Trigger::normalize);
      Optional<Trigger> t = serial.flatMap(s -> triggers.stream().filter(x -> x.serial().equals(s)).findFirst());
      String source = "serial";
      if (t.isEmpty()) {
        // No serial match (a secret without a readable certificate): the latest trigger before it.
        t = triggers.stream().filter(x -> x.nanos() <= first).max(Comparator.comparingLong(Trigger::nanos));
        source = "time";
      }
      if (t.isEmpty()) {
        continue;
      }
      long trigger = t.get().nanos();
      if (triggerNoLaterThanFirstArrival && first < trigger) {
        trigger = first;
        source = "first-delivery";
      }
      List<Double> lat = new ArrayList<>();
      long last = Long.MIN_VALUE;
      for (long arrival : firstByVersion.get(v).values()) {
        lat.add((arrival - trigger) / 1e6);
        last = Math.max(last, arrival);
      }
      double[] s = Stats.sorted(lat);
      double cpuS = (CpuSampler.ticksAtOrAfter(cpu, last + 1_000_000_000L) - CpuSampler.ticksAtOrBefore(cpu, trigger))
          / (double) ProcFs.CLOCK_TICKS_PER_SECOND;
      double upS = upstreamCpu.isEmpty() ? Double.NaN
          : (CpuSampler.ticksAtOrAfter(upstreamCpu, last + 1_000_000_000L)
              - CpuSampler.ticksAtOrBefore(upstreamCpu, trigger)) / (double) ProcFs.CLOCK_TICKS_PER_SECOND;
      out.add(new Rotation(v, serial.orElse(""), source, trigger, i == 0, s.length,
          Stats.percentile(s, 50), Stats.percentile(s, 99), s[s.length - 1], s[0], s[s.length - 1] - s[0],
          duplicates.getOrDefault(v, 0), cpuS, upS));
    }
    return out;
  }

  /** Summary of every measured (non-warm-up) rotation of one subject at one N, over all rounds. */
  public record Summary(
      String subject,
      String label,
      int streams,
      int rotations,
      Stats.Spread p50Ms,
      Stats.Spread p99Ms,
      Stats.Spread allMs,
      Stats.Spread spreadMs,
      Stats.Spread cpuSeconds,
      Stats.Spread cpuSecondsUpstream,
      Stats.Spread rssIdleMiB,
      long duplicateResponses,
      long streamErrors) {}

  public static List<Summary> summarize(List<Run> runs) {
    Map<String, List<Run>> groups = new LinkedHashMap<>();
    for (Run r : runs) {
      groups.computeIfAbsent(r.subject() + "/" + r.streams(), k -> new ArrayList<>()).add(r);
    }
    List<Summary> out = new ArrayList<>();
    for (List<Run> g : groups.values()) {
      List<Rotation> rs = g.stream().flatMap(r -> r.rotations().stream()).filter(r -> !r.warmup()).toList();
      Subject subject = Subject.valueOf(g.get(0).subject());
      out.add(new Summary(subject.name(), subject.label, g.get(0).streams(), rs.size(),
          Stats.Spread.of(rs.stream().map(Rotation::p50Ms).toList()),
          Stats.Spread.of(rs.stream().map(Rotation::p99Ms).toList()),
          Stats.Spread.of(rs.stream().map(Rotation::maxMs).toList()),
          Stats.Spread.of(rs.stream().map(Rotation::spreadMs).toList()),
          Stats.Spread.of(rs.stream().map(Rotation::cpuSeconds).toList()),
          Stats.Spread.of(rs.stream().map(Rotation::cpuSecondsUpstream).filter(d -> !d.isNaN()).toList()),
          Stats.Spread.of(g.stream().map(r -> r.rssIdleKiB() / 1024.0).toList()),
          rs.stream().mapToLong(Rotation::duplicateResponses).sum(),
          g.stream().mapToLong(Run::streamErrors).sum()));
    }
    return out;
  }

  static String shortName(Subject s) {
    return switch (s) {
      case ROTOR_DEV -> "rdev";
      case ROTOR_DEV_NO_PUSH_LOG -> "rdevq";
      case ROTOR_SPIRE -> "rspire";
      case SPIRE_AGENT -> "agent";
      case JCP -> "jcp";
    };
  }

  /** Rotor's own logging configuration with the push log ({@code rotor.push}) at WARN. */
  private static Path quietLogConfig(Path dir) throws IOException {
    Path f = dir.resolve("logback-quiet.xml");
    Files.writeString(f, """
        <configuration>
          <statusListener class="ch.qos.logback.core.status.NopStatusListener"/>
          <appender name="stdout" class="ch.qos.logback.core.ConsoleAppender">
            <encoder class="net.logstash.logback.encoder.LogstashEncoder">
              <includeContext>false</includeContext>
              <fieldNames><timestamp>time</timestamp><version>[ignore]</version><levelValue>[ignore]</levelValue>
                <thread>[ignore]</thread><logger>logger</logger></fieldNames>
            </encoder>
          </appender>
          <logger name="rotor.push" level="WARN"/>
          <logger name="io.grpc" level="WARN"/>
          <logger name="io.netty" level="WARN"/>
          <root level="INFO"><appender-ref ref="stdout"/></root>
        </configuration>
        """, StandardCharsets.UTF_8);
    return f;
  }
}
