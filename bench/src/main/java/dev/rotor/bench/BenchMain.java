package dev.rotor.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.rotor.bench.harness.BenchContext;
import dev.rotor.bench.harness.Machine;
import dev.rotor.bench.harness.Spire;
import dev.rotor.bench.harness.Stats;
import dev.rotor.bench.load.WallClock;
import dev.rotor.bench.report.Charts;
import dev.rotor.bench.report.Report;
import dev.rotor.bench.scenario.FanOut;
import dev.rotor.bench.scenario.Footprint;
import dev.rotor.bench.scenario.Memory;
import dev.rotor.bench.scenario.Micro;
import dev.rotor.bench.scenario.Policy;
import dev.rotor.bench.scenario.Profile;
import dev.rotor.bench.scenario.Rotation;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The benchmark harness: runs every scenario of issue 7 and writes
 * {@code OUT/DATE-HOST.json}, {@code OUT/DATE-HOST.md} and {@code OUT/DATE-HOST-*.png}.
 *
 * <pre>
 * BenchMain [--smoke] [--out DIR] [--rotor-jar JAR] [--spiffe-helper BIN] [--only s1,s2,...] [--rounds R]
 *   scenarios: fanout, memory, footprint, filewriter, policy, micro, profile, node
 * </pre>
 *
 * Smoke mode (run by the test command) uses small N and short runs and checks that the harness
 * works end to end; its figures mean nothing.
 */
public final class BenchMain {

  private static final List<String> ALL = List.of("fanout", "memory", "footprint", "filewriter", "policy", "micro",
      "profile", "node");

  public static void main(String[] args) throws Exception {
    Path out = null;
    Optional<Path> jar = Optional.empty();
    Optional<Path> helper = Optional.empty();
    boolean smoke = false;
    Set<String> only = new LinkedHashSet<>(ALL);
    int rounds = 2;
    Optional<Path> resume = Optional.empty();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--smoke" -> smoke = true;
        case "--out" -> out = Path.of(args[++i]);
        case "--rotor-jar" -> jar = Optional.of(Path.of(args[++i]));
        case "--spiffe-helper" -> helper = Optional.of(Path.of(args[++i]));
        case "--only" -> only = new LinkedHashSet<>(List.of(args[++i].split(",")));
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        case "--resume" -> resume = Optional.of(Path.of(args[++i]));
        default -> throw new IllegalArgumentException(args[i] + ": unknown flag (see BenchMain's usage)");
      }
    }
    Path repo = Path.of(System.getProperty("rotor.repo.root", ".")).toAbsolutePath().normalize();
    if (out == null) {
      out = repo.resolve("bench/results");
    }
    Path written = run(repo, out, jar, helper, smoke, only, rounds, String.join(" ", args), resume);
    System.out.println("results: " + written);
    System.exit(0);
  }

  /** Runs the scenarios and returns the JSON file written. */
  public static Path run(Path repo, Path out, Optional<Path> rotorJar, Optional<Path> spiffeHelper, boolean smoke,
      Set<String> only, int rounds, String commandLine) throws IOException {
    return run(repo, out, rotorJar, spiffeHelper, smoke, only, rounds, commandLine, Optional.empty());
  }

  /**
   * As above; with {@code resume}, the report of an earlier run (its JSON) is read back and only
   * the scenarios in {@code only} are run again and replaced in it, in the same files.
   */
  public static Path run(Path repo, Path out, Optional<Path> rotorJar, Optional<Path> spiffeHelper, boolean smoke,
      Set<String> only, int rounds, String commandLine, Optional<Path> resume) throws IOException {
    Files.createDirectories(out);
    // Under /tmp, not the repository: Unix socket paths must stay under ~100 bytes.
    Path scratch = Files.createTempDirectory(Path.of("/tmp"), "rotor-bench-");
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    BenchContext ctx = new BenchContext(repo, scratch, classpath, rotorJar, smoke);

    Report r = resume.isPresent() ? mapper().readValue(resume.get().toFile(), Report.class) : new Report();
    if (resume.isPresent()) {
      r.command = r.command + "; then, resumed: bench/run.sh " + commandLine;
      r.notRun.clear();
      r.failures.removeIf(f -> only.stream().anyMatch(f::startsWith));
    } else {
      r.date = LocalDate.now(ZoneOffset.UTC).toString();
      r.host = Machine.host();
      r.mode = smoke ? "smoke" : "full";
      r.command = "bench/run.sh" + (commandLine.isBlank() ? "" : " " + commandLine);
      r.machine = Machine.describe();
    }
    r.versions.put("rotor", Machine.command(List.of("git", "-C", repo.toString(), "rev-parse", "--short", "HEAD"))
        + (rotorJar.isPresent() ? " (rotor.jar)" : " (classes)"));
    r.versions.put("java-control-plane", Machine.mavenVersion("io.envoyproxy.controlplane", "server"));
    r.versions.put("grpc-java", Machine.mavenVersion("io.grpc", "grpc-api").equals("unknown")
        ? io.grpc.ManagedChannel.class.getPackage().getImplementationVersion() + "" : Machine.mavenVersion("io.grpc", "grpc-api"));
    r.versions.put("jmh", Machine.mavenVersion("org.openjdk.jmh", "jmh-core"));
    spiffeHelper.ifPresent(h -> r.versions.put("spiffe-helper", Machine.command(List.of(h.toString(), "-version"))));
    r.methods.put("trigger", "Rotor dev CA: time stamp of its 'dev CA issued' log line (after signing, before the"
        + " gate); java-control-plane: stamped before setSnapshot after issuing; SPIRE-fed: arrival of the new SVID"
        + " on a Workload API stream of the load client (the agent notifies it together with Rotor / the SDS"
        + " streams), capped at the first SDS delivery for the agent's own SDS. Matched to deliveries by leaf serial."
        + " All stamps are CLOCK_REALTIME (Instant.now, 1 us) of the same host.");
    r.methods.put("cpu", "utime+stime of the serving process from /proc/PID/stat, sampled every 20 ms, from the"
        + " trigger to 1 s after the last delivery (ACKs included); 10 ms resolution; includes idle background.");
    r.methods.put("load", "separate JVM; SDS: one StreamSecrets stream per name, node on the first request only,"
        + " every response ACKed on the event loop; 10 streams per HTTP/2 connection over the Unix socket.");

    Spire[] spire = new Spire[1];
    java.util.function.Supplier<Spire> spireSupplier = () -> {
      if (spire[0] == null) {
        try {
          spire[0] = Spire.start(repo, Duration.ofSeconds(30));
          r.versions.put("spire", spire[0].version().orElse("unknown"));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
      return spire[0];
    };
    Path json = resume.orElse(out.resolve(r.date + "-" + r.host + ".json"));
    try {
      if (only.contains("fanout")) {
        scenario(r, "fanout", () -> fanOut(ctx, r, spireSupplier, smoke, rounds), json, out);
      }
      if (only.contains("policy")) {
        scenario(r, "policy", () -> policy(ctx, r, smoke), json, out);
      }
      if (only.contains("memory")) {
        if (smoke) {
          r.notRun.put("2. memory", "smoke mode");
        } else {
          scenario(r, "memory", () -> memory(ctx, r), json, out);
        }
      }
      if (only.contains("footprint")) {
        if (smoke || rotorJar.isEmpty()) {
          r.notRun.put("3. footprint", smoke ? "smoke mode" : "needs --rotor-jar");
        } else {
          scenario(r, "footprint", () -> {
            Optional<Spire> sp = spiffeHelper.isPresent() ? Optional.of(spireSupplier.get()) : Optional.empty();
            r.footprint = new Footprint(ctx).run(5, 2, Duration.ofSeconds(60), sp, spiffeHelper);
          }, json, out);
        }
      }
      if (only.contains("filewriter")) {
        Optional<String> missing = fileWriterMissing(ctx);
        if (missing.isPresent()) {
          r.notRun.put("4. file writer", missing.get());
        } else if (smoke || spiffeHelper.isEmpty()) {
          r.notRun.put("4. file writer", smoke ? "smoke mode (needs SPIRE)" : "needs --spiffe-helper");
        } else {
          scenario(r, "filewriter", () -> r.fileWriter = new dev.rotor.bench.scenario.FileWriter(ctx)
              .run(spireSupplier.get(), spiffeHelper.get(), 16, Machine.command(
                  List.of("git", "-C", repo.toString(), "rev-parse", "--short", "HEAD"))), json, out);
        }
      }
      if (only.contains("micro")) {
        if (smoke) {
          r.notRun.put("6. micro", "smoke mode");
        } else {
          scenario(r, "micro", () -> r.micro = Micro.run(2, 3, 5), json, out);
        }
      }
      if (only.contains("node")) {
        if (smoke || rotorJar.isEmpty() || BenchContext.uid() != 0) {
          r.notRun.put("7. node mode", smoke ? "smoke mode" : rotorJar.isEmpty() ? "needs --rotor-jar"
              : "needs root (its Envoys run as other users, each a workload SPIRE attests)");
        } else {
          scenario(r, "node", () -> r.node = new dev.rotor.bench.scenario.NodeMode(ctx).run(), json, out);
        }
      }
      if (only.contains("profile") && !smoke) {
        scenario(r, "profile", () -> profile(ctx, r, spireSupplier), json, out);
      }
    } finally {
      if (spire[0] != null) {
        spire[0].close();
      }
      r.loadavgAtEnd = Machine.loadavg();
      write(r, json, out);
      if (smoke && r.failures.isEmpty()) {
        deleteRecursively(scratch); // a passing smoke run leaves nothing in /tmp; a failing one keeps its logs
      }
    }
    return json;
  }

  interface Step {
    void run() throws Exception;
  }

  private static void scenario(Report r, String name, Step step, Path json, Path out) throws IOException {
    long t0 = System.nanoTime();
    System.out.println("== " + name + " ...");
    try {
      step.run();
    } catch (Exception | AssertionError e) {
      StringWriter sw = new StringWriter();
      e.printStackTrace(new PrintWriter(sw));
      r.failures.add(name + ": " + sw);
      System.out.println("!! " + name + " failed: " + e);
    }
    System.out.printf("== %s done in %.0f s%n", name, (System.nanoTime() - t0) / 1e9);
    write(r, json, out);
  }

  private static void fanOut(BenchContext ctx, Report r, java.util.function.Supplier<Spire> spire, boolean smoke,
      int rounds) throws IOException {
    List<FanOut.Subject> subjects = smoke ? List.of(FanOut.Subject.ROTOR_DEV) : List.of(FanOut.Subject.values());
    List<Integer> ns = smoke ? List.of(20) : List.of(100, 1_000, 10_000);
    int measured = smoke ? 1 : 4;
    FanOut f = new FanOut(ctx, spire, smoke ? Duration.ofSeconds(10) : Duration.ofSeconds(20));
    for (int round = 1; round <= (smoke ? 1 : rounds); round++) {
      for (int n : ns) {
        for (FanOut.Subject s : subjects) {
          System.out.printf("   fan-out round %d N=%d %s%n", round, n, s);
          try {
            r.fanOutRuns.add(f.run(s, n, measured, round, 10, Optional.empty()));
          } catch (Exception e) {
            r.failures.add("fanout " + s + " N=" + n + " round " + round + ": " + e);
            System.out.println("!! " + e);
          }
          r.fanOut = FanOut.summarize(r.fanOutRuns);
        }
      }
    }
  }

  private static void policy(BenchContext ctx, Report r, boolean smoke) throws IOException {
    Policy p = new Policy(ctx);
    for (int n : smoke ? List.of(10) : List.of(100, 1_000)) {
      r.policyRuns.add(p.run(n, smoke ? 1 : 5, 1));
      r.policy = Policy.summarize(r.policyRuns);
    }
  }

  private static void memory(BenchContext ctx, Report r) throws Exception {
    Memory m = new Memory(ctx);
    for (FanOut.Subject s : List.of(FanOut.Subject.ROTOR_DEV, FanOut.Subject.JCP)) {
      r.memorySamples.addAll(m.run(s, List.of(1_000, 10_000), 3));
      r.memory = Memory.summarize(r.memorySamples);
    }
  }

  private static void profile(BenchContext ctx, Report r, java.util.function.Supplier<Spire> spire) throws IOException {
    r.fanOutProfiles.clear();
    for (int n : List.of(100, 10_000)) {
      r.fanOutProfiles.add(profile(ctx, spire, n));
    }
  }

  private static Profile.Summary profile(BenchContext ctx, java.util.function.Supplier<Spire> spire, int n)
      throws IOException {
    Path jfr = ctx.newDir("jfr-" + n).resolve("rotor-fanout.jfr");
    FanOut.Run run = new FanOut(ctx, spire, Duration.ofSeconds(20))
        .run(FanOut.Subject.ROTOR_DEV, n, 4, 0, 10, Optional.of(jfr));
    List<long[]> windows = new ArrayList<>();
    for (Rotation x : run.rotations()) {
      if (!x.warmup()) {
        windows.add(new long[] {x.triggerNanos(), x.triggerNanos() + (long) (x.maxMs() * 1e6) + 1_000_000_000L});
      }
    }
    return Profile.summarize(n, jfr, windows, 15);
  }

  /** Scenario 4 needs {@code rotor write-certs}; empty when this build has it, else why not. */
  private static Optional<String> fileWriterMissing(BenchContext ctx) {
    String first = Machine.command(ctx.rotor(List.of(), "write-certs", List.of("--help")));
    if (first.contains("write-certs")) {
      return Optional.empty();
    }
    return Optional.of("NOT RUN: `rotor write-certs` does not exist in this build (`rotor write-certs --help` says: \""
        + first.replace('"', '\'') + "\"); merge the branch that adds it and run again.");
  }

  private static void write(Report r, Path json, Path out) throws IOException {
    Files.writeString(json, mapper().writeValueAsString(r), StandardCharsets.UTF_8);
    String base = json.getFileName().toString().replaceFirst("\\.json$", "");
    Files.writeString(out.resolve(base + ".md"), r.markdown(), StandardCharsets.UTF_8);
    charts(r, out, base);
  }

  private static void deleteRecursively(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.out.println("cannot delete " + dir + ": " + e);
    }
  }

  private static ObjectMapper mapper() {
    return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
        .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false)
        .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  }

  private static void charts(Report r, Path out, String base) throws IOException {
    if (!r.fanOut.isEmpty()) {
      List<Integer> ns = r.fanOut.stream().map(FanOut.Summary::streams).distinct().toList();
      List<FanOut.Subject> subjects = List.of(FanOut.Subject.values()).stream()
          .filter(s -> r.fanOut.stream().anyMatch(x -> x.subject().equals(s.name()))).toList();
      double[][][] all = new double[ns.size()][subjects.size()][];
      double[][][] cpu = new double[ns.size()][subjects.size()][];
      for (int i = 0; i < ns.size(); i++) {
        for (int j = 0; j < subjects.size(); j++) {
          int n = ns.get(i);
          FanOut.Subject s = subjects.get(j);
          var sum = r.fanOut.stream().filter(x -> x.streams() == n && x.subject().equals(s.name())).findFirst();
          if (sum.isPresent() && sum.get().allMs().n() > 0) {
            all[i][j] = bar(sum.get().allMs());
            cpu[i][j] = bar(sum.get().cpuSeconds());
          }
        }
      }
      List<String> groups = ns.stream().map(n -> "N = " + n).toList();
      List<String> labels = subjects.stream().map(s -> s.label).toList();
      Charts.groupedBars(out.resolve(base + "-fanout-all.png"), "Rotation fan-out: time until all N streams have the"
          + " new secret", "ms (log)", groups, labels, all, true);
      Charts.groupedBars(out.resolve(base + "-fanout-cpu.png"), "Rotation fan-out: CPU seconds of the serving"
          + " process per rotation", "CPU s (log)", groups, labels, cpu, true);
    }
    if (r.footprint != null && !r.footprint.rssMiB().isEmpty()) {
      List<String> names = new ArrayList<>(r.footprint.rssMiB().keySet());
      double[][][] rss = new double[1][names.size()][];
      for (int j = 0; j < names.size(); j++) {
        rss[0][j] = bar(r.footprint.rssMiB().get(names.get(j)));
      }
      Charts.groupedBars(out.resolve(base + "-footprint-rss.png"), "Sidecar RSS after 60 s idle, one client",
          "MiB", List.of("RSS"), names, rss, false);
    }
  }

  private static double[] bar(Stats.Spread s) {
    return new double[] {s.median(), s.min(), s.max()};
  }

  static long now() {
    return WallClock.nowNanos();
  }
}
