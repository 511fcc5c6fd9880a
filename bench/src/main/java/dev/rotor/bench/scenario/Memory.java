package dev.rotor.bench.scenario;

import dev.rotor.bench.harness.BenchContext;
import dev.rotor.bench.harness.Jcmd;
import dev.rotor.bench.harness.LoadRun;
import dev.rotor.bench.harness.ProcFs;
import dev.rotor.bench.harness.Stats;
import dev.rotor.bench.harness.Waits;
import dev.rotor.bench.load.LoadOptions;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Scenario 2, memory per stream: live heap after a full GC ({@code jcmd GC.class_histogram},
 * which collects first) and RSS, with no streams and then with N idle {@code default} streams
 * open, for Rotor (dev CA, no rotation during the measurement) and the java-control-plane peer.
 * Per-stream figures are (with N − without) / N; the largest classes of the difference are kept
 * to say where the bytes go.
 */
public final class Memory {

  public record Sample(String subject, int streams, int round, long liveHeapBaseBytes, long liveHeapBytes,
      long rssBaseKiB, long rssKiB, double heapPerStreamBytes, double rssPerStreamBytes, List<Jcmd.HistogramLine> top) {}

  public record Summary(String subject, int streams, Stats.Spread heapPerStreamBytes, Stats.Spread rssPerStreamBytes,
      Stats.Spread liveHeapMiB, Stats.Spread rssMiB) {}

  private final BenchContext ctx;

  public Memory(BenchContext ctx) {
    this.ctx = ctx;
  }

  public List<Sample> run(FanOut.Subject subject, List<Integer> ns, int rounds) throws IOException, InterruptedException {
    Path dir = ctx.newDir("mem-" + FanOut.shortName(subject));
    Path socket = dir.resolve("sds.sock");
    ManagedProcess server = switch (subject) {
      case ROTOR_DEV -> BenchContext.start("rotor", dir, Map.of(), ctx.rotorServe(FanOut.SERVER_JVM, List.of(
          "--dev", "--svid-ttl", "1h", "--sds-socket", socket.toString(),
          "--allowed-uid", Integer.toString(BenchContext.uid()))));
      case JCP -> BenchContext.start("jcp", dir, Map.of(), ctx.javaMain(FanOut.SERVER_JVM,
          "dev.rotor.bench.peers.JcpServerMain", List.of("--socket", socket.toString(), "--rotate-every-ms", "86400000")));
      default -> throw new IllegalArgumentException("memory: " + subject + " (expected: a JVM subject)");
    };
    List<Sample> out = new ArrayList<>();
    try {
      Waits.forFile(socket, Duration.ofSeconds(60), server);
      Waits.sleep(2000);
      for (int round = 1; round <= rounds; round++) {
        for (int n : ns) {
          Jcmd.Histogram base = Jcmd.liveHistogram(server.pid(), 200);
          long rssBase = ProcFs.rssKiB(server.pid()).orElse(-1);
          LoadOptions lo = new LoadOptions(socket, LoadOptions.Mode.SDS, n, 10, List.of("default"), "envoy", 0,
              dir.resolve("arrivals-" + n + "-" + round + ".txt"), Duration.ofMinutes(5), Optional.empty(), 2,
              Duration.ofMinutes(3));
          try (LoadRun load = LoadRun.start(ctx, dir, "load-" + n + "-" + round, lo)) {
            load.awaitReady(Duration.ofMinutes(3));
            Waits.sleep(2000);
            Jcmd.Histogram with = Jcmd.liveHistogram(server.pid(), 200);
            long rss = ProcFs.rssKiB(server.pid()).orElse(-1);
            out.add(new Sample(subject.name(), n, round, base.totalBytes(), with.totalBytes(), rssBase, rss,
                (with.totalBytes() - base.totalBytes()) / (double) n, (rss - rssBase) * 1024.0 / n, diff(base, with)));
          }
          Waits.sleep(2000);
        }
      }
      return out;
    } finally {
      server.stop(Duration.ofSeconds(10));
    }
  }

  /** The classes that grew most between two histograms. */
  private static List<Jcmd.HistogramLine> diff(Jcmd.Histogram base, Jcmd.Histogram with) {
    Map<String, Jcmd.HistogramLine> b = new LinkedHashMap<>();
    base.top().forEach(l -> b.put(l.className(), l));
    List<Jcmd.HistogramLine> grew = new ArrayList<>();
    for (Jcmd.HistogramLine l : with.top()) {
      Jcmd.HistogramLine was = b.get(l.className());
      long bytes = l.bytes() - (was == null ? 0 : was.bytes());
      long inst = l.instances() - (was == null ? 0 : was.instances());
      if (bytes > 0) {
        grew.add(new Jcmd.HistogramLine(l.className(), inst, bytes));
      }
    }
    grew.sort((x, y) -> Long.compare(y.bytes(), x.bytes()));
    return List.copyOf(grew.subList(0, Math.min(12, grew.size())));
  }

  public static List<Summary> summarize(List<Sample> samples) {
    Map<String, List<Sample>> g = new LinkedHashMap<>();
    samples.forEach(s -> g.computeIfAbsent(s.subject() + "/" + s.streams(), k -> new ArrayList<>()).add(s));
    List<Summary> out = new ArrayList<>();
    g.values().forEach(l -> out.add(new Summary(l.get(0).subject(), l.get(0).streams(),
        Stats.Spread.of(l.stream().map(Sample::heapPerStreamBytes).toList()),
        Stats.Spread.of(l.stream().map(Sample::rssPerStreamBytes).toList()),
        Stats.Spread.of(l.stream().map(s -> s.liveHeapBytes() / 1048576.0).toList()),
        Stats.Spread.of(l.stream().map(s -> s.rssKiB() / 1024.0).toList()))));
    return out;
  }
}
