package dev.rotor.bench.scenario;

import dev.rotor.bench.harness.BenchContext;
import dev.rotor.bench.harness.CpuSampler;
import dev.rotor.bench.harness.LoadRun;
import dev.rotor.bench.harness.Stats;
import dev.rotor.bench.harness.Waits;
import dev.rotor.bench.load.LoadOptions;
import dev.rotor.bench.load.WallClock;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scenario 5, policy change: N Envoy-like ADS clients (node {@code backend} of the demo policy,
 * subscribed to clusters, listeners and their secrets); the harness rewrites the policy file (a
 * new allowed caller for the backend, so its inbound listener's RBAC changes) by an atomic rename,
 * stamping the wall clock just before the rename. Rotor polls the file every 100 ms (the minimum
 * of {@code --policy-poll-interval}; the default is 1 s), so "edit to all" includes 0–100 ms of
 * polling; "detect to all" starts at Rotor's own "policy updated" log line instead.
 */
public final class Policy {

  private static final Pattern TIME = Pattern.compile("\"time\":\"([^\"]+)\"");

  public record Run(int streams, int round, String end, List<Rotation> edits, List<Double> detectToAllMs) {}

  public record Summary(int streams, int edits, Stats.Spread editToAllMs, Stats.Spread editToP50Ms,
      Stats.Spread detectToAllMs, Stats.Spread cpuSeconds) {}

  private final BenchContext ctx;

  public Policy(BenchContext ctx) {
    this.ctx = ctx;
  }

  public Run run(int n, int measured, int round) throws IOException {
    Path dir = ctx.newDir("policy-" + n);
    Path file = dir.resolve("policy.yaml");
    Files.writeString(file, policy(0), StandardCharsets.UTF_8);
    Path socket = dir.resolve("sds.sock");
    ManagedProcess rotor = BenchContext.start("rotor", dir, Map.of(), ctx.rotorServe(FanOut.SERVER_JVM, List.of(
        "--dev", "--svid-ttl", "1h", "--policy", file.toString(), "--policy-poll-interval", "100ms",
        "--sds-socket", socket.toString(), "--allowed-uid", Integer.toString(BenchContext.uid()))));
    try {
      Waits.forFile(socket, Duration.ofSeconds(60), rotor);
      Waits.sleep(1000);
      int edits = measured + 1;
      Duration timeout = Duration.ofSeconds(120 + 15L * edits);
      LoadOptions lo = new LoadOptions(socket, LoadOptions.Mode.ADS, n, 10, List.of("default", "ROOTCA"), "backend",
          edits, dir.resolve("arrivals.txt"), timeout, Optional.empty(), 2, Duration.ZERO);
      List<Trigger> triggers = new ArrayList<>();
      LoadRun.Outcome outcome;
      List<CpuSampler.Sample> cpu;
      try (CpuSampler sampler = new CpuSampler(rotor.pid(), 20); LoadRun load = LoadRun.start(ctx, dir, "load", lo)) {
        load.awaitReady(timeout);
        for (int k = 1; k <= edits; k++) {
          Waits.sleep(1500);
          Path tmp = dir.resolve("policy.yaml.tmp");
          Files.writeString(tmp, policy(k), StandardCharsets.UTF_8);
          triggers.add(new Trigger(WallClock.nowNanos(), ""));
          Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
          load.awaitUpdate(k, Duration.ofSeconds(60));
        }
        outcome = load.finish(Duration.ofSeconds(60));
        cpu = sampler.samples();
      }
      List<Rotation> rs = FanOut.analyze(outcome.log(), triggers, false, cpu, List.of());
      List<Long> detections = new ArrayList<>();
      for (String l : Waits.lines(dir.resolve("rotor.out"))) {
        Matcher t = TIME.matcher(l);
        if (l.contains("\"policy updated\"") && t.find()) {
          detections.add(WallClock.toNanos(Instant.parse(t.group(1))));
        }
      }
      List<Double> detectToAll = new ArrayList<>();
      for (Rotation r : rs) {
        long all = r.triggerNanos() + (long) (r.maxMs() * 1e6);
        detections.stream().filter(d -> d >= r.triggerNanos()).min(Long::compare)
            .ifPresentOrElse(d -> detectToAll.add((all - d) / 1e6), () -> detectToAll.add(Double.NaN));
      }
      return new Run(n, round, outcome.end(), rs, detectToAll);
    } finally {
      rotor.stop(Duration.ofSeconds(10));
    }
  }

  public static List<Summary> summarize(List<Run> runs) {
    Map<Integer, List<Run>> byN = new LinkedHashMap<>();
    runs.forEach(r -> byN.computeIfAbsent(r.streams(), k -> new ArrayList<>()).add(r));
    List<Summary> out = new ArrayList<>();
    byN.forEach((n, g) -> {
      List<Double> all = new ArrayList<>();
      List<Double> p50 = new ArrayList<>();
      List<Double> detect = new ArrayList<>();
      List<Double> cpu = new ArrayList<>();
      for (Run r : g) {
        for (int i = 0; i < r.edits().size(); i++) {
          Rotation e = r.edits().get(i);
          if (!e.warmup()) {
            all.add(e.maxMs());
            p50.add(e.p50Ms());
            cpu.add(e.cpuSeconds());
            if (!r.detectToAllMs().get(i).isNaN()) {
              detect.add(r.detectToAllMs().get(i));
            }
          }
        }
      }
      out.add(new Summary(n, all.size(), Stats.Spread.of(all), Stats.Spread.of(p50), Stats.Spread.of(detect),
          Stats.Spread.of(cpu)));
    });
    return out;
  }

  /** The demo policy, with the k-th extra caller allowed into the backend. */
  static String policy(int k) {
    return """
        version: 1
        trustDomain: example.org
        workloads:
          - name: backend
            match:
              nodeIds: [backend]
              spiffeIds: [spiffe://example.org/ns/demo/sa/backend]
            inbound:
              port: 8080
              appPort: 9090
              protocol: http
              rules:
                - action: allow
                  from:
                    - spiffeId: spiffe://example.org/ns/demo/sa/frontend
                    - spiffeId: spiffe://example.org/ns/demo/sa/bench-caller-%d
          - name: frontend
            match:
              nodeIds: [frontend]
              spiffeIds: [spiffe://example.org/ns/demo/sa/frontend]
            outbound:
              - name: backend
                port: 9001
                address: backend.demo.svc.cluster.local:8080
                spiffeIds: [spiffe://example.org/ns/demo/sa/backend]
        """.formatted(k);
  }
}
