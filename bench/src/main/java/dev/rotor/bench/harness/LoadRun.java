package dev.rotor.bench.harness;

import dev.rotor.bench.load.ArrivalLog;
import dev.rotor.bench.load.LoadOptions;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** One load-client process started by the harness: a separate JVM running {@code LoadClientMain}. */
public final class LoadRun implements AutoCloseable {
  /** The load client's JVM: a fixed heap big enough for 10,000 streams' buffers, no GC surprises. */
  static final List<String> CLIENT_JVM = List.of("-XX:+UseParallelGC", "-Xms512m", "-Xmx512m", "-Xss512k");

  private final ManagedProcess process;
  private final Path stdout;
  private final LoadOptions options;

  private LoadRun(ManagedProcess process, Path stdout, LoadOptions options) {
    this.process = process;
    this.stdout = stdout;
    this.options = options;
  }

  public static LoadRun start(BenchContext ctx, Path dir, String name, LoadOptions options) {
    ManagedProcess p = BenchContext.start(name, dir, Map.of(),
        ctx.javaMain(CLIENT_JVM, "dev.rotor.bench.load.LoadClientMain", options.toArgs()));
    return new LoadRun(p, dir.resolve(name + ".out"), options);
  }

  /** Waits for READY; throws with the client's output if it fails first. */
  public void awaitReady(Duration timeout) {
    Waits.forLine(stdout, l -> l.startsWith("READY"), timeout, process, "READY from the load client");
  }

  /** Waits for the k-th clean update to have reached every stream. */
  public void awaitUpdate(int k, Duration timeout) {
    Waits.forLine(stdout, l -> l.startsWith("UPDATE " + k + " "), timeout, process, "UPDATE " + k);
  }

  /** Waits for the client to exit and returns its arrival log and how it ended (DONE, TIMEOUT, FAIL ...). */
  public Outcome finish(Duration timeout) throws IOException {
    if (!Waits.forExit(process, timeout)) {
      process.stop(Duration.ofSeconds(5));
      throw new IllegalStateException("load client still running after " + timeout + "\n" + process.describe(20));
    }
    String end = Waits.lines(stdout).stream()
        .filter(l -> l.startsWith("DONE") || l.startsWith("TIMEOUT") || l.startsWith("FAIL"))
        .reduce((a, b) -> b).orElse("EXIT without a status line");
    if (end.startsWith("FAIL") || end.startsWith("EXIT")) {
      throw new IllegalStateException("load client: " + end + "\n" + process.describe(20));
    }
    return new Outcome(end, ArrivalLog.read(options.out()));
  }

  public record Outcome(String end, ArrivalLog log) {
    public boolean complete() {
      return end.startsWith("DONE");
    }
  }

  public long pid() {
    return process.pid();
  }

  @Override
  public void close() {
    process.stop(Duration.ofSeconds(5));
  }
}
