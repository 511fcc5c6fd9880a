package dev.rotor.bench.report;

import dev.rotor.bench.scenario.NodeMode;
import java.util.Locale;

/** The node-mode scenario's section of the Markdown report. */
final class NodeModeReport {

  private NodeModeReport() {}

  static String markdown(NodeMode.Result r) {
    StringBuilder m = new StringBuilder();
    m.append("#### 7. Node mode: one Rotor per node against one per pod (real Envoys ").append(r.envoyVersion())
        .append(", real SPIRE)\n\n");
    m.append("Node-mode Rotor (DaemonSet JVM options) with no Envoy: RSS ")
        .append(mib(r.nodeBaseRssKiB())).append(" MiB, live heap ").append(mib(r.nodeBaseHeapBytes() / 1024))
        .append(" MiB.\n\n");
    m.append("| setup | Envoys | attested workloads | Rotor processes | Rotor RSS, total (MiB) | RSS per Envoy (MiB) |"
        + " live heap (MiB) | per attested workload: RSS / heap (KiB) |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (NodeMode.NodeSample s : r.node()) {
      m.append(String.format(Locale.ROOT, "| node mode | %d | %d | 1 | %s | %s | %s | %.0f / %.0f |%n", s.envoys(),
          s.workloads(), mib(s.rssKiB()), mib(s.rssKiB() / s.envoys()), mib(s.liveHeapBytes() / 1024),
          s.rssPerWorkloadKiB(), s.heapPerWorkloadKiB()));
    }
    NodeMode.SidecarSample sc = r.sidecars();
    m.append(String.format(Locale.ROOT, "| sidecars | %d | %d | %d | %s | %s (median %.1f, %.1f–%.1f) |"
            + " %.1f each (median) | – |%n", sc.rotors(), sc.rotors(), sc.rotors(), mib(sc.totalRssKiB()),
        mib(sc.totalRssKiB() / sc.rotors()), sc.rssMiB().median(), sc.rssMiB().min(), sc.rssMiB().max(),
        sc.liveHeapMiB().median()));
    NodeMode.FanOutResult f = r.fanOut();
    m.append("\nThe first attested workload's figure carries what the first caller costs any Rotor (classes loaded,"
        + " connection and stream machinery); the 10- and 50-workload rows spread it over more workloads, so the"
        + " 50-workload figure is closest to the cost of one more.\n");
    m.append("\nRotation → all Envoys updated, ").append(f.envoys()).append(" Envoys of one attested workload (one SVID"
        + " subscription; ").append(2 * f.envoys()).append(" SDS streams, `default` and `ROOTCA` per Envoy): convergence"
        + " per rotation (new identity in Rotor → every stream ACKed) ");
    f.convergenceSeconds().forEach(x -> m.append(String.format(Locale.ROOT, "%.0f ms; ", x * 1000)));
    m.append("rotations since Rotor started, all workloads, by outcome ").append(f.outcomes()).append("; Envoys with the newest `default` at the end: ")
        .append(f.envoysWithNewest()).append(" of ").append(f.envoys()).append("; Rotor RSS with them ")
        .append(mib(f.rssKiBWithAll())).append(" MiB.\n\n");
    return m.toString();
  }

  private static String mib(long kib) {
    return String.format(Locale.ROOT, "%.1f", kib / 1024.0);
  }
}
