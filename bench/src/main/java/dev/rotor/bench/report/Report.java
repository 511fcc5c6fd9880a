package dev.rotor.bench.report;

import dev.rotor.bench.harness.Stats;
import dev.rotor.bench.scenario.FanOut;
import dev.rotor.bench.scenario.Footprint;
import dev.rotor.bench.scenario.Memory;
import dev.rotor.bench.scenario.Micro;
import dev.rotor.bench.scenario.Policy;
import dev.rotor.bench.scenario.Profile;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Everything one benchmark run measured, as written to {@code results/DATE-HOST.json}, and its
 * Markdown rendering. Fields are filled in as scenarios finish, so a run that stops early still
 * leaves what it had.
 */
public final class Report {
  public String date;
  public String host;
  public String mode;
  public String command;
  public Map<String, Object> machine = new LinkedHashMap<>();
  public Map<String, String> versions = new LinkedHashMap<>();
  public Map<String, String> methods = new LinkedHashMap<>();
  public Map<String, String> notRun = new LinkedHashMap<>();
  public List<String> failures = new ArrayList<>();
  public List<FanOut.Run> fanOutRuns = new ArrayList<>();
  public List<FanOut.Summary> fanOut = new ArrayList<>();
  public List<Memory.Sample> memorySamples = new ArrayList<>();
  public List<Memory.Summary> memory = new ArrayList<>();
  public Footprint.Result footprint;
  public dev.rotor.bench.scenario.FileWriter.Result fileWriter;
  public List<Policy.Run> policyRuns = new ArrayList<>();
  public List<Policy.Summary> policy = new ArrayList<>();
  public List<Micro.Figure> micro = new ArrayList<>();
  public List<Profile.Summary> fanOutProfiles = new ArrayList<>();
  public dev.rotor.bench.scenario.NodeMode.Result node;
  public String loadavgAtEnd;

  private static String f(Stats.Spread s, int d) {
    return s == null ? "n/a" : s.format(d);
  }

  private static Optional<FanOut.Summary> find(List<FanOut.Summary> l, FanOut.Subject s, int n) {
    return l.stream().filter(x -> x.subject().equals(s.name()) && x.streams() == n).findFirst();
  }

  public String markdown() {
    StringBuilder m = new StringBuilder();
    m.append("### Run ").append(date).append(" on ").append(host).append(" (").append(mode).append(")\n\n");
    m.append("Machine: ").append(machine.get("cores")).append(" cores (").append(machine.get("cpu")).append("), ")
        .append(machine.get("memory_mib")).append(" MiB, kernel ").append(machine.get("kernel")).append(", ")
        .append(machine.get("jvm")).append(", open files limit ").append(machine.get("open_files_limit"))
        .append("; load average at start ").append(machine.get("loadavg_at_start")).append(", at end ")
        .append(loadavgAtEnd).append(".\n\n");
    m.append("Versions: ");
    versions.forEach((k, v) -> m.append(k).append(" ").append(v).append("; "));
    m.append("\n\nCommand: `").append(command).append("`\n\n");
    m.append("Figures are median (min–max) over the repetitions shown in the `n` column.\n\n");

    if (!fanOut.isEmpty()) {
      m.append("#### 1. Rotation fan-out (`default`, one identity change)\n\n");
      m.append("| N | system | n | p50 ms | p99 ms | all N have it, ms | first→last ms | server CPU s/rotation | "
          + "agent CPU s/rotation | server RSS with N idle, MiB |\n");
      m.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (FanOut.Summary s : fanOut) {
        m.append("| ").append(s.streams()).append(" | ").append(s.label()).append(" | ").append(s.rotations())
            .append(" | ").append(f(s.p50Ms(), 1)).append(" | ").append(f(s.p99Ms(), 1)).append(" | ")
            .append(f(s.allMs(), 1)).append(" | ").append(f(s.spreadMs(), 1)).append(" | ")
            .append(f(s.cpuSeconds(), 2)).append(" | ")
            .append(s.cpuSecondsUpstream().n() == 0 ? "–" : f(s.cpuSecondsUpstream(), 2)).append(" | ")
            .append(f(s.rssIdleMiB(), 0)).append(" |\n");
      }
      m.append("\nRatios of medians of \"all N have it\" (other ÷ Rotor; > 1 means Rotor is faster):\n\n");
      m.append("| N | SPIRE agent ÷ Rotor dev CA | SPIRE agent ÷ Rotor fed by SPIRE | java-control-plane ÷ Rotor dev CA "
          + "| java-control-plane ÷ Rotor fed by SPIRE |\n|---:|---:|---:|---:|---:|\n");
      for (int n : fanOut.stream().map(FanOut.Summary::streams).distinct().toList()) {
        m.append("| ").append(n).append(" | ")
            .append(ratio(FanOut.Subject.SPIRE_AGENT, FanOut.Subject.ROTOR_DEV, n)).append(" | ")
            .append(ratio(FanOut.Subject.SPIRE_AGENT, FanOut.Subject.ROTOR_SPIRE, n)).append(" | ")
            .append(ratio(FanOut.Subject.JCP, FanOut.Subject.ROTOR_DEV, n)).append(" | ")
            .append(ratio(FanOut.Subject.JCP, FanOut.Subject.ROTOR_SPIRE, n)).append(" |\n");
      }
      long dups = fanOut.stream().mapToLong(FanOut.Summary::duplicateResponses).sum();
      long errs = fanOut.stream().mapToLong(FanOut.Summary::streamErrors).sum();
      m.append("\nDuplicate responses of one version on one stream: ").append(dups)
          .append("; streams that ended with an error: ").append(errs).append(".\n\n");
    }
    if (!memory.isEmpty()) {
      m.append("#### 2. Memory per stream (N idle `default` streams)\n\n");
      m.append("| system | N | n | live heap per stream, bytes | RSS per stream, bytes | live heap with N, MiB | RSS with N, MiB |\n");
      m.append("|---|---:|---:|---:|---:|---:|---:|\n");
      for (Memory.Summary s : memory) {
        m.append("| ").append(s.subject()).append(" | ").append(s.streams()).append(" | ")
            .append(s.heapPerStreamBytes().n()).append(" | ").append(f(s.heapPerStreamBytes(), 0)).append(" | ")
            .append(f(s.rssPerStreamBytes(), 0)).append(" | ").append(f(s.liveHeapMiB(), 1)).append(" | ")
            .append(f(s.rssMiB(), 1)).append(" |\n");
      }
      m.append('\n');
    }
    if (footprint != null) {
      m.append("#### 3. Sidecar footprint (Rotor dev CA, one Envoy-like SDS stream)\n\n");
      m.append("| JVM options | start → first SDS response, ms | RSS after 60 s idle, MiB |\n|---|---:|---:|\n");
      for (Footprint.Variant v : footprint.variants()) {
        m.append("| ").append(v.name()).append(v.jvm().isEmpty() ? "" : " `" + String.join(" ", v.jvm()) + "`")
            .append(" | ").append(f(footprint.startMs().get(v.name()), 0)).append(" | ")
            .append(f(footprint.rssMiB().get(v.name()), 1)).append(" |\n");
      }
      for (String other : List.of("spiffe-helper", "SPIRE agent")) {
        if (footprint.rssMiB().containsKey(other)) {
          m.append("| ").append(other).append(" (not Rotor) | – | ").append(f(footprint.rssMiB().get(other), 1))
              .append(" |\n");
        }
      }
      if (footprint.nativeMemoryCommittedKiB() != null && !footprint.nativeMemoryCommittedKiB().isEmpty()) {
        m.append("\nNative memory committed by the recommended + AppCDS sidecar (`-XX:NativeMemoryTracking=summary`,"
            + " a separate process), MiB: ");
        footprint.nativeMemoryCommittedKiB().forEach((k, v) -> m.append(k).append(' ')
            .append(String.format(Locale.ROOT, "%.1f", v / 1024.0)).append("; "));
        m.append('\n');
      }
      if (footprint.cdsArchiveError() != null) {
        m.append("\nAppCDS archive not made: ").append(footprint.cdsArchiveError()).append('\n');
      }
      m.append('\n');
    }
    if (fileWriter != null) {
      m.append("#### 4. File writer (agent renewal → cert and matching key in place; → SIGHUP received)\n\n");
      m.append("Rotor at ").append(fileWriter.rotorCommit()).append(".\n\n");
      m.append("| writer | renewals | files in place, ms | files p99, ms | signal received, ms |\n|---|---:|---:|---:|---:|\n");
      for (var s : fileWriter.summaries()) {
        m.append("| ").append(s.writer()).append(" | ").append(s.renewals()).append(" | ").append(f(s.filesMs(), 1))
            .append(" | ").append(String.format(Locale.ROOT, "%.1f", s.filesP99Ms())).append(" | ")
            .append(f(s.signalMs(), 1)).append(" |\n");
      }
      if (fileWriter.rotorFsync() != null) {
        m.append("\nRotor's fsyncs per renewal (separate pass with JFR `jdk.FileForce`, ")
            .append(fileWriter.rotorFsync().renewals()).append(" renewals): ")
            .append(f(fileWriter.rotorFsync().calls(), 0)).append(" calls taking ")
            .append(f(fileWriter.rotorFsync().totalMs(), 1)).append(" ms in all.\n");
      }
      var st = fileWriter.rotorStages();
      if (st != null && st.renewals() > 0) {
        m.append("\nRotor's stages from its own log lines, ms after the trigger (").append(st.renewals())
            .append(" renewals): SVID parsed ").append(f(st.parsedMs(), 1)).append("; gate checks passed ")
            .append(f(st.gatePassedMs(), 1)).append("; files published ").append(f(st.publishedMs(), 1))
            .append("; signal sent ").append(f(st.signalSentMs(), 1)).append(".\n");
      }
      m.append('\n');
    }
    if (!policy.isEmpty()) {
      m.append("#### 5. Policy change (ADS clients have the new listener)\n\n");
      m.append("| N | edits | edit → all N, ms | edit → p50, ms | Rotor detects → all N, ms | Rotor CPU s/edit |\n");
      m.append("|---:|---:|---:|---:|---:|---:|\n");
      for (Policy.Summary s : policy) {
        m.append("| ").append(s.streams()).append(" | ").append(s.edits()).append(" | ")
            .append(f(s.editToAllMs(), 1)).append(" | ").append(f(s.editToP50Ms(), 1)).append(" | ")
            .append(f(s.detectToAllMs(), 1)).append(" | ").append(f(s.cpuSeconds(), 2)).append(" |\n");
      }
      m.append('\n');
    }
    if (!micro.isEmpty()) {
      m.append("#### 6. Micro-benchmarks (JMH, average time, `-prof gc`)\n\n");
      m.append("| benchmark | ns/op (± 99.9% CI) | bytes allocated/op |\n|---|---:|---:|\n");
      for (Micro.Figure x : micro) {
        m.append(String.format(Locale.ROOT, "| %s | %.0f ± %.0f | %.0f |%n", x.benchmark(), x.nsPerOp(),
            x.nsPerOpError(), x.bytesPerOp()));
      }
      m.append('\n');
    }
    if (node != null) {
      m.append(NodeModeReport.markdown(node));
    }
    for (Profile.Summary p : fanOutProfiles) {
      m.append("#### Profile of Rotor (dev CA) during fan-out to N = ").append(p.streams())
          .append(" (JFR execution samples inside rotation windows: ").append(p.samples()).append(" samples, ")
          .append(String.format(Locale.ROOT, "%.0f%%", p.interpretedTopPercent()))
          .append(" of them in interpreted code)\n\n");
      m.append("| part of Rotor on the stack | % of samples |\n|---|---:|\n");
      p.components().forEach(c -> m.append("| ").append(c.method()).append(" | ")
          .append(String.format(Locale.ROOT, "%.0f", c.percent())).append(" |\n"));
      m.append('\n');
      m.append("| top of stack (self) | % | on stack (inclusive) | % |\n|---|---:|---|---:|\n");
      for (int i = 0; i < Math.max(p.self().size(), p.inclusive().size()); i++) {
        Profile.Frame s = i < p.self().size() ? p.self().get(i) : null;
        Profile.Frame c = i < p.inclusive().size() ? p.inclusive().get(i) : null;
        m.append("| ").append(s == null ? "" : "`" + s.method() + "`").append(" | ")
            .append(s == null ? "" : String.format(Locale.ROOT, "%.1f", s.percent())).append(" | ")
            .append(c == null ? "" : "`" + c.method() + "`").append(" | ")
            .append(c == null ? "" : String.format(Locale.ROOT, "%.1f", c.percent())).append(" |\n");
      }
      m.append("\nThreads: ");
      p.threads().forEach(t -> m.append(t.method()).append(String.format(Locale.ROOT, " %.0f%%; ", t.percent())));
      m.append("\n\n");
    }
    if (!notRun.isEmpty()) {
      m.append("#### Not run\n\n");
      notRun.forEach((k, v) -> m.append("- ").append(k).append(": ").append(v).append('\n'));
      m.append('\n');
    }
    if (!failures.isEmpty()) {
      m.append("#### Failures\n\n");
      failures.forEach(x -> m.append("- ").append(x.replace("\n", " ").substring(0, Math.min(400, x.length())))
          .append('\n'));
      m.append('\n');
    }
    return m.toString();
  }

  private String ratio(FanOut.Subject other, FanOut.Subject rotor, int n) {
    Optional<FanOut.Summary> o = find(fanOut, other, n);
    Optional<FanOut.Summary> r = find(fanOut, rotor, n);
    if (o.isEmpty() || r.isEmpty() || o.get().allMs().n() == 0 || r.get().allMs().n() == 0) {
      return "–";
    }
    return String.format(Locale.ROOT, "%.2f", o.get().allMs().median() / r.get().allMs().median());
  }
}
