package dev.rotor.bench.scenario;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rotor.bench.harness.BenchContext;
import dev.rotor.bench.harness.Spire;
import dev.rotor.bench.harness.Stats;
import dev.rotor.bench.harness.Waits;
import dev.rotor.bench.load.WallClock;
import dev.rotor.bench.load.WorkloadProbe;
import dev.rotor.testkit.KeyPairs;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Scenario 4, file writer: {@code rotor write-certs} and spiffe-helper, both in daemon mode with
 * the same {@code helper.conf} (each its own {@code cert_dir}), watching the same SPIRE agent and
 * told to signal a process (SIGHUP through {@code pid_file_name}) after each renewal.
 *
 * <p>Trigger: the new SVID's arrival on a Workload API probe stream held by the harness on the
 * same agent (the agent notifies the probe and both writers of the same renewal). "Files in place"
 * is the first moment, seen through inotify ({@link WatchService}) on the cert directory, at which
 * the certificate file holds the new leaf and the key file holds its private key (a signature made
 * with the key verifies with the certificate): a certificate alone with the old key does not count.
 * "Signal" is when the signalled process ran its SIGHUP trap (bash, {@code $EPOCHREALTIME}, no fork).
 */
public final class FileWriter {

  /** One renewal as one writer delivered it, in ms from the trigger (NaN if it never did). */
  public record Delivery(String serial, String writer, long triggerNanos, double filesMs, double signalMs) {}

  public record Summary(String writer, int renewals, Stats.Spread filesMs, double filesP99Ms, Stats.Spread signalMs) {}

  /**
   * @param rotorFsync from a separate pass with JFR on Rotor's writer ({@code jdk.FileForce}, every
   *     fsync however short): fsync calls and their total milliseconds per renewal; null if not taken
   */
  public record Result(String rotorCommit, List<Delivery> deliveries, List<Summary> summaries, Fsync rotorFsync,
      Stages rotorStages) {}

  /**
   * Where Rotor's time goes, from the timestamps of its own log lines (the same wall clock as the
   * trigger), in ms after the trigger: the SVID parsed from the agent's response, the gate's checks
   * passed, the files published (the {@code ..data} swap done), the signal sent ({@code kill} exited).
   */
  public record Stages(int renewals, Stats.Spread parsedMs, Stats.Spread gatePassedMs, Stats.Spread publishedMs,
      Stats.Spread signalSentMs) {}

  /** fsyncs per renewal: how many, and how long in all (ms). */
  public record Fsync(int renewals, Stats.Spread calls, Stats.Spread totalMs) {}

  private final BenchContext ctx;

  public FileWriter(BenchContext ctx) {
    this.ctx = ctx;
  }

  /** The measured pass, then a shorter pass with JFR on Rotor's writer for its fsync time. */
  public Result run(Spire spire, Path spiffeHelper, int renewals, String rotorCommit) throws Exception {
    Result measured = pass(spire, spiffeHelper, renewals, rotorCommit, Optional.empty());
    Path jfr = ctx.newDir("files-jfr").resolve("write-certs.jfr");
    Result profiled = pass(spire, spiffeHelper, 5, rotorCommit, Optional.of(jfr));
    List<long[]> windows = new ArrayList<>();
    for (Delivery d : profiled.deliveries()) {
      if (d.writer().equals("rotor") && !Double.isNaN(d.filesMs())) {
        windows.add(new long[] {d.triggerNanos(), d.triggerNanos() + 2_000_000_000L});
      }
    }
    List<Double> calls = new ArrayList<>();
    List<Double> total = new ArrayList<>();
    List<jdk.jfr.consumer.RecordedEvent> forces = jdk.jfr.consumer.RecordingFile.readAllEvents(jfr).stream()
        .filter(e -> e.getEventType().getName().equals("jdk.FileForce")).toList();
    for (long[] w : windows) {
      int c = 0;
      double ms = 0;
      for (var e : forces) {
        long t = WallClock.toNanos(e.getStartTime());
        if (t >= w[0] && t <= w[1]) {
          c++;
          ms += e.getDuration().toNanos() / 1e6;
        }
      }
      calls.add((double) c);
      total.add(ms);
    }
    return new Result(measured.rotorCommit(), measured.deliveries(), measured.summaries(),
        new Fsync(windows.size(), Stats.Spread.of(calls), Stats.Spread.of(total)), measured.rotorStages());
  }

  private Result pass(Spire spire, Path spiffeHelper, int renewals, String rotorCommit, Optional<Path> jfr)
      throws Exception {
    Path dir = ctx.newDir("files");
    List<String> writers = List.of("rotor", "spiffe-helper");
    Map<String, Watcher> watchers = new LinkedHashMap<>();
    Map<String, Path> signalLogs = new LinkedHashMap<>();
    List<ManagedProcess> procs = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    try (WorkloadProbe probe = new WorkloadProbe(spire.agentSocket(), errors::add)) {
      for (String w : writers) {
        Path certs = Files.createDirectories(dir.resolve(w + "-certs"));
        Path pidFile = dir.resolve(w + "-reloader.pid");
        Path signals = dir.resolve(w + "-signals.txt");
        signalLogs.put(w, signals);
        // The program that reloads: records each SIGHUP with the wall clock (bash 5's $EPOCHREALTIME).
        // env --default-signal: bash cannot trap a signal ignored when it starts, as SIGHUP is when
        // the harness itself runs under nohup.
        procs.add(BenchContext.start(w + "-reloader", dir, Map.of(), List.of("env", "--default-signal=HUP", "bash", "-c",
            "echo $$ > '" + pidFile + "'; trap 'echo $EPOCHREALTIME >> \"" + signals + "\"' HUP;"
                + " while :; do sleep 1 & wait $!; done")));
        Waits.forFile(pidFile, Duration.ofSeconds(10), procs.get(procs.size() - 1));
        Path conf = dir.resolve(w + "-helper.conf");
        Files.writeString(conf, """
            agent_address = "%s"
            cmd = ""
            cmd_args = ""
            cert_dir = "%s"
            svid_file_name = "svid.pem"
            svid_key_file_name = "svid_key.pem"
            svid_bundle_file_name = "svid_bundle.pem"
            pid_file_name = "%s"
            renew_signal = "SIGHUP"
            """.formatted(spire.agentSocket(), certs, pidFile), StandardCharsets.UTF_8);
        List<String> cmd = w.equals("rotor")
            ? rotorWriteCerts(conf, jfr)
            : List.of(spiffeHelper.toString(), "-config", conf.toString());
        ManagedProcess p = BenchContext.start(w, dir, Map.of(), cmd);
        procs.add(p);
        Waits.forFile(certs.resolve("svid.pem"), Duration.ofSeconds(60), p);
        watchers.put(w, new Watcher(certs));
      }
      // Wait for `renewals` renewals after both writers and watchers are up, plus one.
      int start = probe.arrivals().size();
      long deadline = System.nanoTime() + Duration.ofSeconds(30L * (renewals + 2)).toNanos();
      while (probe.arrivals().size() < start + renewals + 1 && System.nanoTime() < deadline) {
        procs.forEach(p -> p.checkAlive("file-writer scenario"));
        Thread.sleep(500);
      }
      Thread.sleep(3000); // let the writers finish the last one
      watchers.values().forEach(Watcher::close);
      Map<String, Map<String, Long>> inPlace = new LinkedHashMap<>();
      watchers.forEach((w, watcher) -> inPlace.put(w, watcher.firstSeenBySerial()));
      List<WorkloadProbe.Arrival> triggers = probe.arrivals().subList(start, probe.arrivals().size());
      List<Delivery> deliveries = new ArrayList<>();
      for (int i = 0; i < triggers.size(); i++) {
        WorkloadProbe.Arrival t = triggers.get(i);
        // A signal belongs to the renewal whose trigger precedes it; the probe itself may be a few ms
        // late (it competes for CPU), so the window opens 50 ms before the trigger.
        long from = t.nanos() - SIGNAL_SLACK_NANOS;
        long to = i + 1 < triggers.size() ? triggers.get(i + 1).nanos() - SIGNAL_SLACK_NANOS : Long.MAX_VALUE;
        for (String w : writers) {
          Long seen = inPlace.get(w).get(t.serial());
          double files = seen == null ? Double.NaN : (seen - t.nanos()) / 1e6;
          double signal = firstSignalIn(signalLogs.get(w), from, to).map(n -> (n - t.nanos()) / 1e6)
              .orElse(Double.NaN);
          deliveries.add(new Delivery(t.serial(), w, t.nanos(), files, signal));
        }
      }
      List<Summary> summaries = new ArrayList<>();
      for (String w : writers) {
        List<Double> files = deliveries.stream().filter(d -> d.writer().equals(w) && !Double.isNaN(d.filesMs()))
            .map(Delivery::filesMs).toList();
        List<Double> signal = deliveries.stream().filter(d -> d.writer().equals(w) && !Double.isNaN(d.signalMs()))
            .map(Delivery::signalMs).toList();
        summaries.add(new Summary(w, files.size(), Stats.Spread.of(files), Stats.percentile(Stats.sorted(files), 99),
            Stats.Spread.of(signal)));
      }
      return new Result(rotorCommit, deliveries, summaries, null, stages(dir.resolve("rotor.out"), triggers));
    } finally {
      procs.forEach(p -> p.stop(Duration.ofSeconds(10)));
    }
  }

  /** Rotor's stages per renewal, from its JSON log lines that name the new leaf's serial. */
  private static Stages stages(Path rotorLog, List<WorkloadProbe.Arrival> triggers) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> lines = new ArrayList<>();
    for (String l : Waits.lines(rotorLog)) {
      if (l.startsWith("{")) {
        lines.add(json.readTree(l));
      }
    }
    List<Double> parsed = new ArrayList<>();
    List<Double> gate = new ArrayList<>();
    List<Double> published = new ArrayList<>();
    List<Double> signalled = new ArrayList<>();
    for (WorkloadProbe.Arrival t : triggers) {
      String serial = "serial=" + t.serial() + ",";
      int at = -1;
      for (int i = 0; i < lines.size(); i++) {
        String m = lines.get(i).path("message").asText();
        if (m.contains(": snapshot ") && m.contains(serial)) {
          at = i;
          break;
        }
      }
      if (at < 0) {
        continue;
      }
      parsed.add(msAfter(lines.get(at), t));
      Optional<JsonNode> g = next(lines, at, n -> n.path("message").asText().startsWith("identity gate serves")
          && n.path("message").asText().contains(serial));
      Optional<JsonNode> p = next(lines, at, n -> n.path("message").asText().equals("files published")
          && n.path("serial").asText().equals(t.serial()));
      g.ifPresent(n -> gate.add(msAfter(n, t)));
      p.ifPresent(n -> published.add(msAfter(n, t)));
      if (p.isPresent()) {
        next(lines, lines.indexOf(p.get()), n -> n.path("message").asText().startsWith("signalled the process"))
            .ifPresent(n -> signalled.add(msAfter(n, t)));
      }
    }
    return new Stages(parsed.size(), Stats.Spread.of(parsed), Stats.Spread.of(gate), Stats.Spread.of(published),
        Stats.Spread.of(signalled));
  }

  private static Optional<JsonNode> next(List<JsonNode> lines, int after, java.util.function.Predicate<JsonNode> p) {
    return lines.subList(after + 1, lines.size()).stream().filter(p).findFirst();
  }

  private static double msAfter(JsonNode line, WorkloadProbe.Arrival trigger) {
    return (WallClock.toNanos(java.time.Instant.parse(line.path("time").asText())) - trigger.nanos()) / 1e6;
  }

  private List<String> rotorWriteCerts(Path conf, Optional<Path> jfr) {
    List<String> jvm = new ArrayList<>(FanOut.SERVER_JVM);
    jfr.ifPresent(f -> jvm.add("-XX:StartFlightRecording=filename=" + f + ",jdk.FileForce#threshold=0ms"));
    return ctx.rotor(jvm, "write-certs", List.of("--config", conf.toString()));
  }

  private static final long SIGNAL_SLACK_NANOS = 50_000_000L;

  /** The first SIGHUP recorded in [from, to), as wall-clock nanos. */
  private static Optional<Long> firstSignalIn(Path log, long from, long to) {
    return Waits.lines(log).stream()
        .map(String::trim).filter(l -> !l.isEmpty())
        .map(l -> {
          String[] f = l.replace(',', '.').split("\\.");
          String frac = (f.length > 1 ? f[1] : "0") + "000000000";
          return Long.parseLong(f[0]) * 1_000_000_000L + Long.parseLong(frac.substring(0, 9));
        })
        .filter(n -> n >= from && n < to).min(Long::compare);
  }

  /**
   * Watches one cert directory with inotify and records what the certificate and key files held at
   * every change, with the time; {@link #firstSeenBySerial} then finds the first moment the certificate of a
   * serial and a matching key were both in place. The checking (parsing, a signature with the key)
   * happens afterwards, so the watcher takes no CPU from the writers while they work.
   */
  private static final class Watcher implements AutoCloseable {
    private record Observation(long nanos, byte[] cert, byte[] key) {}

    private final Path certs;
    private final WatchService watch;
    private final Thread thread;
    private final List<Observation> observations = new ArrayList<>();

    Watcher(Path certs) throws IOException {
      this.certs = certs;
      this.watch = FileSystems.getDefault().newWatchService();
      certs.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
      this.thread = new Thread(this::loop, "watch-" + certs.getFileName());
      thread.setDaemon(true);
      thread.start();
    }

    private void loop() {
      try {
        while (true) {
          var key = watch.take();
          key.pollEvents();
          record();
          key.reset();
        }
      } catch (InterruptedException | ClosedWatchServiceException e) {
        // closed
      }
    }

    private void record() {
      long now = WallClock.nowNanos();
      byte[] cert;
      byte[] key;
      try {
        cert = Files.readAllBytes(certs.resolve("svid.pem"));
        key = Files.readAllBytes(certs.resolve("svid_key.pem"));
      } catch (IOException e) {
        return; // missing for a moment: the next event looks again
      }
      synchronized (observations) {
        Observation last = observations.isEmpty() ? null : observations.get(observations.size() - 1);
        if (last == null || !java.util.Arrays.equals(last.cert(), cert) || !java.util.Arrays.equals(last.key(), key)) {
          observations.add(new Observation(now, cert, key));
        }
      }
    }

    /**
     * For each leaf serial seen, the first time its certificate and its key were both in place.
     * Call after {@link #close}: the observations are checked once, in order.
     */
    Map<String, Long> firstSeenBySerial() {
      List<Observation> seen;
      synchronized (observations) {
        seen = List.copyOf(observations);
      }
      Map<String, Long> first = new LinkedHashMap<>();
      for (Observation o : seen) {
        try {
          X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(o.cert()));
          String serial = leaf.getSerialNumber().toString(16);
          if (!first.containsKey(serial) && matches(leaf, o.key())) {
            first.put(serial, o.nanos());
          }
        } catch (Exception e) {
          // partly written: not in place
        }
      }
      return first;
    }

    private static boolean matches(X509Certificate leaf, byte[] keyPem) throws Exception {
      String pem = new String(keyPem, StandardCharsets.US_ASCII);
      String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
      String alg = leaf.getPublicKey().getAlgorithm();
      PrivateKey key = KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
      return KeyPairs.matches(key, leaf);
    }

    @Override
    public void close() {
      try {
        watch.close();
      } catch (IOException e) {
        // closing
      }
      thread.interrupt();
    }
  }
}
