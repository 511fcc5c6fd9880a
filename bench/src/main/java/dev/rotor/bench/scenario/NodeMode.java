package dev.rotor.bench.scenario;

import static org.awaitility.Awaitility.await;

import dev.rotor.bench.harness.BenchContext;
import dev.rotor.bench.harness.Jcmd;
import dev.rotor.bench.harness.ProcFs;
import dev.rotor.bench.harness.Stats;
import dev.rotor.bench.harness.Waits;
import dev.rotor.testkit.Ports;
import dev.rotor.testkit.TemplateFile;
import dev.rotor.testkit.envoy.EnvoyBootstrap;
import dev.rotor.testkit.envoy.EnvoyProcess;
import dev.rotor.testkit.envoy.EnvoyVersions;
import dev.rotor.testkit.process.ManagedProcess;
import dev.rotor.testkit.spire.SpireFixture;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scenario 7, node mode (issue 18): the memory of one {@code rotor serve --node} serving 1, 10 and
 * 50 real Envoys, each a workload of its own (its own Unix user, attested by the SPIRE agent's
 * Delegated Identity API), against 50 sidecar Rotors serving one Envoy each; and how long a
 * rotation takes to reach all of 50 real Envoys of one workload.
 *
 * <p>Everything is real: SPIRE server and agent (Rotor's own entry its one authorized delegate),
 * Rotor from its jar with the deployment manifests' JVM options (the DaemonSet's for node mode, the
 * sidecars' for sidecars), the newest tested Envoy. Needs root (Envoys run as other users).
 * Memory: VmRSS from {@code /proc}, live heap after a full GC from {@code jcmd GC.class_histogram};
 * "per attested workload" is (with N − with none) ÷ N. Rotation: Rotor's own convergence histogram
 * (from the new identity until every stream that holds the secret ACKed it, docs/operations.md),
 * one observation per rotation, and each Envoy's {@code /certs} checked at the end.
 */
public final class NodeMode {

  /** The DaemonSet's JVM options (deploy/kustomize/overlays/node/rotor/rotor-node.yaml). */
  public static final List<String> NODE_JVM = List.of("-XX:+UseSerialGC", "-Xss512k", "-Xms32m", "-Xmx128m",
      "-XX:MaxMetaspaceSize=64m", "-XX:ReservedCodeCacheSize=32m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
      "-XX:+ExitOnOutOfMemoryError", "-XX:-UsePerfData");
  /** The sidecars' JVM options (deploy/kustomize/base/demo/*.yaml). */
  public static final List<String> SIDECAR_JVM = List.of("-XX:+UseSerialGC", "-Xss512k", "-Xms16m", "-Xmx48m",
      "-XX:MaxMetaspaceSize=64m", "-XX:ReservedCodeCacheSize=32m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
      "-XX:+ExitOnOutOfMemoryError", "-XX:-UsePerfData");

  private static final String TD = SpireFixture.TRUST_DOMAIN_ID;
  private static final String ROTOR_ID = TD + "/bench/rotor-node";
  private static final int ROTOR_GID = 4400;
  private static final int FIRST_UID = 5001;
  private static final int SHARED_UID = 5100;
  private static final int SIDECAR_GID_BASE = 6000;
  private static final Duration SVID_TTL = Duration.ofSeconds(30);
  private static final Duration READY = Duration.ofMinutes(3);

  /** One measurement of node-mode Rotor. */
  public record NodeSample(int envoys, int workloads, long rssKiB, long liveHeapBytes, double rssPerWorkloadKiB,
      double heapPerWorkloadKiB) {}

  /** The sidecar comparison: one Rotor per Envoy. */
  public record SidecarSample(int rotors, long totalRssKiB, Stats.Spread rssMiB, Stats.Spread liveHeapMiB) {}

  /**
   * Rotations of one workload's SVID reaching 50 Envoys of it.
   *
   * @param convergenceSeconds per rotation, Rotor's convergence histogram (new identity → every stream ACKed)
   * @param envoysWithNewest Envoys whose {@code default} in /certs is the newest serial Rotor pushed, at the end
   */
  public record FanOutResult(int envoys, List<Double> convergenceSeconds, Map<String, Double> outcomes,
      int envoysWithNewest, long rssKiBWithAll) {}

  public record Result(String envoyVersion, List<NodeSample> node, long nodeBaseRssKiB, long nodeBaseHeapBytes,
      SidecarSample sidecars, FanOutResult fanOut) {}

  private final BenchContext ctx;

  public NodeMode(BenchContext ctx) {
    this.ctx = ctx;
  }

  public Result run() throws Exception {
    String version = EnvoyVersions.newest();
    // The Envoys run as other users: they must reach their files and Rotor's socket under here.
    Files.setPosixFilePermissions(ctx.scratch(), PosixFilePermissions.fromString("rwxr-xr-x"));
    Path dir = ctx.newDir("node");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    System.setProperty("rotor.repo.root", ctx.repoRoot().toString());
    try (SpireFixture spire = new SpireFixture().withDelegatedIdentityApi(ROTOR_ID).start()) {
      spire.createEntry(ROTOR_ID, List.of("unix:uid:0", "unix:gid:" + ROTOR_GID), Duration.ofMinutes(30));
      List<Integer> ports = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        // The same identity for the node-mode Envoy (its user) and its sidecar Rotor (root, a group of its own).
        spire.createEntry(id(i), List.of("unix:uid:" + (FIRST_UID + i)), SVID_TTL);
        spire.createEntry(id(i), List.of("unix:uid:0", "unix:gid:" + (SIDECAR_GID_BASE + i)), SVID_TTL);
        ports.add(Ports.free());
      }
      spire.createEntry(TD + "/bench/shared", List.of("unix:uid:" + SHARED_UID), SVID_TTL);
      Path policy = Files.writeString(dir.resolve("policy.yaml"), policy(ports));
      Waits.sleep(6000); // the agent learns of new entries at its next sync (every 5 s)

      List<NodeSample> node = new ArrayList<>();
      long[] base = new long[2];
      FanOutResult fanOut;
      ManagedProcess rotor = startNodeRotor(dir, spire, policy);
      try {
        Waits.sleep(3000);
        base[0] = ProcFs.rssKiB(rotor.pid()).orElse(-1);
        base[1] = Jcmd.liveHistogram(rotor.pid(), 5).totalBytes();
        List<EnvoyProcess> envoys = new ArrayList<>();
        try {
          for (int n : List.of(1, 10, 50)) {
            while (envoys.size() < n) {
              int i = envoys.size();
              envoys.add(envoy(dir, version, "w" + i, FIRST_UID + i, EnvoyBootstrap.demo("backend-envoy.yaml",
                  dir.resolve("rotor-node.sock")).replaceOnce("id: backend", "id: w" + i)));
            }
            awaitDefaults(envoys, Set.of());
            Waits.sleep(3000);
            long rss = ProcFs.rssKiB(rotor.pid()).orElse(-1);
            long heap = Jcmd.liveHistogram(rotor.pid(), 5).totalBytes();
            node.add(new NodeSample(n, n, rss, heap, (rss - base[0]) / (double) n, (heap - base[1]) / 1024.0 / n));
            System.out.printf("   node mode, %d Envoys: RSS %d KiB, live heap %d B%n", n, rss, heap);
          }
        } finally {
          envoys.forEach(EnvoyProcess::close);
        }
        fanOut = fanOut(dir, version, rotor);
      } finally {
        rotor.stop(Duration.ofSeconds(10));
      }
      SidecarSample sidecars = sidecars(dir, version, spire, policy);
      return new Result(version, node, base[0], base[1], sidecars, fanOut);
    }
  }

  private ManagedProcess startNodeRotor(Path dir, SpireFixture spire, Path policy) {
    List<String> command = new ArrayList<>(List.of("setpriv", "--regid=" + ROTOR_GID, "--clear-groups"));
    command.addAll(ctx.rotorServe(NODE_JVM, List.of("--node", "--delegated-identity-api",
        "unix://" + spire.adminSocket(), "--trust-domain", SpireFixture.TRUST_DOMAIN, "--policy", policy.toString(),
        "--sds-socket", dir.resolve("rotor-node.sock").toString())));
    ManagedProcess rotor = BenchContext.start("rotor-node", dir, Map.of(), command);
    Waits.forFile(dir.resolve("rotor-node.sock"), Duration.ofSeconds(60), rotor);
    return rotor;
  }

  /** 50 Envoys of one workload (one user): one subscription, 50 streams; three rotations. */
  private FanOutResult fanOut(Path dir, String version, ManagedProcess rotor) throws Exception {
    String admin = adminUrl(dir.resolve("rotor-node.out"));
    List<EnvoyProcess> envoys = new ArrayList<>();
    try {
      for (int i = 0; i < 50; i++) {
        envoys.add(envoy(dir, version, "shared" + i, SHARED_UID, sdsOnly(dir.resolve("rotor-node.sock"))));
      }
      awaitDefaults(envoys, Set.of());
      long rss = ProcFs.rssKiB(rotor.pid()).orElse(-1);
      double[] before = convergence(admin);
      List<Double> seconds = new ArrayList<>();
      for (int rotation = 1; rotation <= 3; rotation++) {
        double count = before[1];
        await("rotation " + rotation + " converged on 50 Envoys").atMost(SVID_TTL.multipliedBy(2))
            .pollInterval(Duration.ofMillis(500)).until(() -> convergence(admin)[1] > count);
        double[] now = convergence(admin);
        seconds.add((now[0] - before[0]) / (now[1] - before[1]));
        before = now;
      }
      Set<String> serials = new TreeSet<>();
      for (EnvoyProcess e : envoys) {
        serials.add(e.admin().activeSecretLeaf("default").map(c -> c.serialHex()).orElse(""));
      }
      int withNewest = serials.size() == 1 ? envoys.size() : 0;
      return new FanOutResult(envoys.size(), seconds, outcomes(admin), withNewest, rss);
    } finally {
      envoys.forEach(EnvoyProcess::close);
    }
  }

  /** 50 sidecar Rotors, each serving one Envoy its workload; RSS and live heap of every Rotor. */
  private SidecarSample sidecars(Path dir, String version, SpireFixture spire, Path policy) throws Exception {
    List<ManagedProcess> rotors = new ArrayList<>();
    List<EnvoyProcess> envoys = new ArrayList<>();
    try {
      for (int i = 0; i < 50; i++) {
        Path socket = dir.resolve("sidecar-" + i + ".sock");
        List<String> command = new ArrayList<>(List.of("setpriv", "--regid=" + (SIDECAR_GID_BASE + i), "--clear-groups"));
        command.addAll(ctx.rotorServe(SIDECAR_JVM, List.of("--workload-api", "unix://" + spire.agentSocket(),
            "--trust-domain", SpireFixture.TRUST_DOMAIN, "--expect-spiffe-id", id(i), "--policy", policy.toString(),
            "--sds-socket", socket.toString(), "--socket-mode", "0666", "--allowed-uid",
            Integer.toString(FIRST_UID + i))));
        ManagedProcess r = BenchContext.start("sidecar-" + i, dir, Map.of(), command);
        rotors.add(r);
        Waits.forFile(socket, Duration.ofSeconds(120), r);
        envoys.add(envoy(dir, version, "sidecar-envoy-" + i, FIRST_UID + i,
            EnvoyBootstrap.demo("backend-envoy.yaml", socket).replaceOnce("id: backend", "id: w" + i)));
      }
      awaitDefaults(envoys, Set.of());
      Waits.sleep(3000);
      List<Double> rss = new ArrayList<>();
      List<Double> heap = new ArrayList<>();
      long total = 0;
      for (ManagedProcess r : rotors) {
        long k = ProcFs.rssKiB(r.pid()).orElse(-1);
        total += k;
        rss.add(k / 1024.0);
        heap.add(Jcmd.liveHistogram(r.pid(), 5).totalBytes() / 1048576.0);
      }
      return new SidecarSample(rotors.size(), total, Stats.Spread.of(rss), Stats.Spread.of(heap));
    } finally {
      envoys.forEach(EnvoyProcess::close);
      rotors.forEach(r -> r.stop(Duration.ofSeconds(10)));
    }
  }

  private static EnvoyProcess envoy(Path dir, String version, String name, int uid, TemplateFile bootstrap) {
    return EnvoyProcess.builder(name, version).bootstrap(bootstrap).dir(dir).runAs(uid, uid).start();
  }

  /** Every Envoy has a `default` secret whose serial is not in {@code notThese}. */
  private static void awaitDefaults(List<EnvoyProcess> envoys, Set<String> notThese) {
    await(envoys.size() + " Envoys with their `default` SVID").atMost(READY).pollInterval(Duration.ofSeconds(1))
        .until(() -> {
          for (EnvoyProcess e : envoys) {
            String serial = e.admin().activeSecretLeaf("default").map(c -> c.serialHex()).orElse("");
            if (serial.isEmpty() || notThese.contains(serial)) {
              return false;
            }
          }
          return true;
        });
  }

  /** Rotor's rotation convergence histogram: {sum, count}. */
  private static double[] convergence(String admin) throws Exception {
    String m = get(admin + "/metrics");
    return new double[] {sample(m, "rotor_rotation_convergence_seconds_sum"),
        sample(m, "rotor_rotation_convergence_seconds_count")};
  }

  private static Map<String, Double> outcomes(String admin) throws Exception {
    String m = get(admin + "/metrics");
    Map<String, Double> out = new java.util.TreeMap<>();
    for (String o : List.of("converged", "nacked", "abandoned", "superseded")) {
      out.put(o, sample(m, "rotor_rotations_total{outcome=\"" + o + "\"}"));
    }
    return out;
  }

  private static double sample(String metrics, String name) {
    Matcher x = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\S+)$").matcher(metrics);
    return x.find() ? Double.parseDouble(x.group(1)) : Double.NaN;
  }

  private static String get(String url) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
        .build(), HttpResponse.BodyHandlers.ofString()).body();
  }

  private static String adminUrl(Path stdout) {
    String line = Waits.forLine(stdout, l -> l.contains("rotor started"), Duration.ofSeconds(30), null, "rotor started");
    Matcher m = Pattern.compile("\"admin\"\\s*:\\s*\"(http://[^\"]+)\"").matcher(line);
    if (!m.find()) {
      throw new IllegalStateException("no admin URL in " + line);
    }
    return m.group(1);
  }

  private static String id(int i) {
    return TD + "/bench/w" + i;
  }

  /** One workload per Envoy: an inbound listener each (LDS, CDS, SDS `default` and `ROOTCA`). */
  private static String policy(List<Integer> ports) {
    StringBuilder p = new StringBuilder("version: 1\ntrustDomain: example.org\nworkloads:\n");
    for (int i = 0; i < ports.size(); i++) {
      p.append("  - name: w").append(i).append('\n')
          .append("    match: { nodeIds: [w").append(i).append("], spiffeIds: [").append(id(i)).append("] }\n")
          .append("    inbound: { port: ").append(ports.get(i)).append(", appPort: 9, protocol: http,")
          .append(" rules: [ { action: allow, from: [ { trustDomain: example.org } ] } ] }\n");
    }
    return p.toString();
  }

  /**
   * An Envoy that takes `default` and `ROOTCA` over SDS (one gRPC stream each, as Envoys written for
   * SPIRE's agent do) for a static cluster: no listener, since 50 of them on one machine would fight
   * over one port. (A static cluster whose secrets come over ADS made Envoy 1.40.0 crash at start.)
   */
  private static TemplateFile sdsOnly(Path socket) {
    return TemplateFile.of("sds-only.yaml", """
        node: { id: shared, cluster: shared }
        admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
        static_resources:
          clusters:
            - name: rotor
              type: STATIC
              connect_timeout: 1s
              load_assignment: { cluster_name: rotor, endpoints: [ { lb_endpoints: [ { endpoint: { address: { pipe: { path: %1$s } } } } ] } ] }
              typed_extension_protocol_options:
                envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                  "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                  explicit_http_config: { http2_protocol_options: {} }
            - name: upstream
              type: STATIC
              connect_timeout: 1s
              load_assignment: { cluster_name: upstream, endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9 } } } } ] } ] }
              transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                  common_tls_context:
                    tls_certificate_sds_secret_configs: [ { name: default, sds_config: %2$s } ]
                    validation_context_sds_secret_config: { name: ROOTCA, sds_config: %2$s }
        """.formatted(socket, "{ resource_api_version: V3, api_config_source: { api_type: GRPC, transport_api_version: V3,"
        + " grpc_services: [ { envoy_grpc: { cluster_name: rotor } } ] } }"));
  }
}
