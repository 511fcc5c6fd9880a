package dev.rotor.bench.scenario;

import dev.rotor.bench.harness.BenchContext;
import dev.rotor.bench.harness.Jcmd;
import dev.rotor.bench.harness.ProcFs;
import dev.rotor.bench.harness.Spire;
import dev.rotor.bench.harness.Stats;
import dev.rotor.bench.harness.Waits;
import dev.rotor.bench.load.WallClock;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Scenario 3, sidecar footprint: Rotor (dev CA) serving one Envoy-like SDS stream, with several
 * JVM option sets. Start-up: wall clock from just before the process is started to the first SDS
 * response on a stream opened as soon as the socket exists (polled every 2 ms). RSS: after 60 s
 * idle with the stream open, all variants side by side, next to spiffe-helper (daemon mode,
 * writing files from the same SPIRE agent) and the SPIRE agent itself.
 */
public final class Footprint {

  /** A named JVM option set. */
  public record Variant(String name, List<String> jvm) {}

  /** What the Kubernetes demo should use; see the README for why each option is there. */
  public static final List<String> RECOMMENDED = List.of(
      "-XX:+UseSerialGC", "-Xms16m", "-Xmx32m", "-Xss256k", "-XX:TieredStopAtLevel=1",
      "-XX:ReservedCodeCacheSize=16m", "-XX:MaxDirectMemorySize=16m");

  public record StartSample(String variant, int rep, double startToFirstResponseMs) {}

  public record RssSample(String process, int round, long rssKiB) {}

  /** {@code cdsArchiveError} is null when the AppCDS archive was made. */
  public record Result(List<Variant> variants, String cdsArchiveError, List<StartSample> starts,
      List<RssSample> rss, Map<String, Stats.Spread> startMs, Map<String, Stats.Spread> rssMiB,
      Map<String, Long> nativeMemoryCommittedKiB) {}

  private final BenchContext ctx;

  public Footprint(BenchContext ctx) {
    this.ctx = ctx;
  }

  public Result run(int startReps, int rssRounds, Duration idle, Optional<Spire> spire, Optional<Path> spiffeHelper)
      throws IOException, InterruptedException {
    Path dir = ctx.newDir("footprint");
    Path jsa = dir.resolve("rotor.jsa");
    Optional<String> cdsError = createCdsArchive(dir, jsa);
    List<Variant> variants = new ArrayList<>(List.of(
        new Variant("JVM defaults", List.of()),
        new Variant("rotor script (-XX:+UseSerialGC -Xss512k -XX:MaxRAMPercentage=50)", FanOut.SERVER_JVM),
        new Variant("recommended, no CDS", RECOMMENDED)));
    if (cdsError.isEmpty()) {
      List<String> withCds = new ArrayList<>(RECOMMENDED);
      withCds.add("-XX:SharedArchiveFile=" + jsa);
      variants.add(new Variant("recommended + AppCDS", withCds));
    }

    List<StartSample> starts = new ArrayList<>();
    startOnce(dir, variants.get(0), -1); // warms the harness's own gRPC client; not recorded
    for (int rep = 1; rep <= startReps; rep++) {
      for (Variant v : variants) {
        starts.add(new StartSample(v.name(), rep, startOnce(dir, v, rep)));
      }
    }

    List<RssSample> rss = new ArrayList<>();
    Map<String, Long> nativeMemory = Map.of();
    for (int round = 1; round <= rssRounds; round++) {
      List<ManagedProcess> procs = new ArrayList<>();
      List<SdsProbe> probes = new ArrayList<>();
      ManagedProcess helper = null;
      ManagedProcess nmt = null;
      try {
        if (round == 1 && !variants.isEmpty()) {
          // Where the recommended sidecar's memory goes: the same options plus Native Memory Tracking
          // (a separate process: tracking itself costs memory, so its RSS is not reported).
          List<String> jvm = new ArrayList<>(variants.get(variants.size() - 1).jvm());
          jvm.add("-XX:NativeMemoryTracking=summary");
          Path socket = dir.resolve("nmt.sock");
          nmt = BenchContext.start("nmt", dir, Map.of(), ctx.rotorServe(jvm, devArgs(socket)));
          Waits.forFile(socket, Duration.ofSeconds(60), nmt);
          probes.add(new SdsProbe(socket));
        }
        for (int i = 0; i < variants.size(); i++) {
          Path socket = dir.resolve("idle-" + i + ".sock");
          Files.deleteIfExists(socket);
          ManagedProcess p = BenchContext.start("idle-" + i + "-" + round, dir, Map.of(),
              ctx.rotorServe(variants.get(i).jvm(), devArgs(socket)));
          procs.add(p);
          Waits.forFile(socket, Duration.ofSeconds(60), p);
          probes.add(new SdsProbe(socket));
        }
        if (spire.isPresent() && spiffeHelper.isPresent()) {
          helper = startSpiffeHelper(dir, round, spire.get(), spiffeHelper.get());
        }
        Thread.sleep(idle.toMillis());
        for (int i = 0; i < variants.size(); i++) {
          rss.add(new RssSample(variants.get(i).name(), round, ProcFs.rssKiB(procs.get(i).pid()).orElse(-1)));
        }
        if (helper != null) {
          rss.add(new RssSample("spiffe-helper", round, ProcFs.rssKiB(helper.pid()).orElse(-1)));
        }
        if (nmt != null) {
          nativeMemory = Jcmd.nativeMemorySummary(nmt.pid());
        }
        if (spire.isPresent()) {
          rss.add(new RssSample("SPIRE agent", round, ProcFs.rssKiB(spire.get().agentPid()).orElse(-1)));
        }
      } finally {
        probes.forEach(SdsProbe::close);
        procs.forEach(p -> p.stop(Duration.ofSeconds(10)));
        if (helper != null) {
          helper.stop(Duration.ofSeconds(10));
        }
        if (nmt != null) {
          nmt.stop(Duration.ofSeconds(10));
        }
      }
    }
    Map<String, Stats.Spread> startMs = new LinkedHashMap<>();
    Map<String, Stats.Spread> rssMiB = new LinkedHashMap<>();
    for (Variant v : variants) {
      startMs.put(v.name(), Stats.Spread.of(starts.stream().filter(s -> s.variant().equals(v.name()))
          .map(StartSample::startToFirstResponseMs).toList()));
    }
    for (RssSample s : rss) {
      rssMiB.computeIfAbsent(s.process(), k -> Stats.Spread.of(rss.stream().filter(x -> x.process().equals(k))
          .map(x -> x.rssKiB() / 1024.0).toList()));
    }
    return new Result(variants, cdsError.orElse(null), starts, rss, startMs, rssMiB, nativeMemory);
  }

  private List<String> devArgs(Path socket) {
    return List.of("--dev", "--svid-ttl", "1h", "--sds-socket", socket.toString(),
        "--allowed-uid", Integer.toString(BenchContext.uid()));
  }

  /** Milliseconds from just before the process starts to the first SDS response. */
  private double startOnce(Path dir, Variant v, int rep) throws IOException, InterruptedException {
    Path socket = dir.resolve("start.sock");
    Files.deleteIfExists(socket);
    long t0 = WallClock.nowNanos();
    ManagedProcess p = BenchContext.start("start-" + rep, dir, Map.of(), ctx.rotorServe(v.jvm(), devArgs(socket)));
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!Files.exists(socket)) {
        p.checkAlive("waiting for " + socket);
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("no socket after 60 s\n" + p.describe(20));
        }
        Thread.sleep(2);
      }
      try (SdsProbe probe = new SdsProbe(socket)) {
        long t1 = probe.awaitFirst(60_000);
        if (t1 == 0) {
          throw new IllegalStateException("no SDS response within 60 s\n" + p.describe(20));
        }
        return (t1 - t0) / 1e6;
      }
    } finally {
      p.stop(Duration.ofSeconds(10));
    }
  }

  /**
   * A dynamic AppCDS archive of Rotor's classes: Rotor runs with the recommended options and
   * {@code -XX:ArchiveClassesAtExit}, serves one SDS response, and is stopped with SIGTERM (a
   * clean exit, which is when the JVM writes the archive).
   */
  private Optional<String> createCdsArchive(Path dir, Path jsa) throws IOException, InterruptedException {
    if (ctx.rotorJar().isEmpty()) {
      return Optional.of("no rotor.jar (AppCDS needs the application on a jar classpath)");
    }
    List<String> jvm = new ArrayList<>(RECOMMENDED);
    jvm.add("-XX:ArchiveClassesAtExit=" + jsa);
    Path socket = dir.resolve("cds.sock");
    ManagedProcess p = BenchContext.start("cds-dump", dir, Map.of(), ctx.rotorServe(jvm, devArgs(socket)));
    try {
      Waits.forFile(socket, Duration.ofSeconds(60), p);
      try (SdsProbe probe = new SdsProbe(socket)) {
        probe.awaitFirst(60_000);
        Thread.sleep(2000);
      }
    } finally {
      p.stop(Duration.ofSeconds(30));
    }
    return Files.exists(jsa) ? Optional.empty()
        : Optional.of("-XX:ArchiveClassesAtExit wrote no archive; see " + dir.resolve("cds-dump.out"));
  }

  private static ManagedProcess startSpiffeHelper(Path dir, int round, Spire spire, Path binary) throws IOException {
    Path certs = Files.createDirectories(dir.resolve("helper-certs-" + round));
    Path conf = dir.resolve("helper-" + round + ".conf");
    Files.writeString(conf, """
        agent_address = "%s"
        cmd = ""
        cmd_args = ""
        cert_dir = "%s"
        renew_signal = ""
        svid_file_name = "svid.pem"
        svid_key_file_name = "svid_key.pem"
        svid_bundle_file_name = "svid_bundle.pem"
        """.formatted(spire.agentSocket(), certs), StandardCharsets.UTF_8);
    ManagedProcess p = BenchContext.start("spiffe-helper-" + round, dir, Map.of(),
        List.of(binary.toString(), "-config", conf.toString()));
    Waits.forFile(certs.resolve("svid.pem"), Duration.ofSeconds(60), p);
    return p;
  }
}
