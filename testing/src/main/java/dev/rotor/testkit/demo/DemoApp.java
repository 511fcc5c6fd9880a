package dev.rotor.testkit.demo;

import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.process.ManagedProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.awaitility.core.ConditionTimeoutException;

/**
 * One of the demo's applications, {@code java -jar demo/target/demo.jar backend|frontend}, as a
 * process configured by environment variables (demo/README.md), its JSON-lines stdout in {@code
 * <dir>/<program>.stdout.jsonl}.
 */
final class DemoApp implements AutoCloseable {
  /** Two cores run a dozen processes here: a small heap and C1 only keep the apps light. */
  private static final List<String> JVM_OPTIONS = List.of("-XX:+UseSerialGC", "-Xmx128m", "-XX:TieredStopAtLevel=1");
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final ManagedProcess process;

  private DemoApp(ManagedProcess process) {
    this.process = process;
  }

  static DemoApp start(String program, Map<String, String> environment, Path dir) {
    Path jar = jar();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(JVM_OPTIONS);
    command.addAll(List.of("-jar", jar.toString(), program));
    Path log = dir.resolve(program + ".stdout.jsonl");
    return new DemoApp(ManagedProcess.start("demo " + program, command, environment, log, log));
  }

  /** Waits (bounded) for {@code condition}; fails with the app's output if it exits or time runs out. */
  void await(String what, Duration atMost, BooleanSupplier condition) {
    try {
      org.awaitility.Awaitility.await(process.name() + ": " + what)
          .atMost(atMost)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> {
            process.checkAlive("waiting for " + what);
            return condition.getAsBoolean();
          });
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException(e.getMessage() + "\n" + process.describe(40), e);
    }
  }

  Path stdout() {
    return process.stdout();
  }

  void checkAlive(String whileDoing) {
    process.checkAlive(whileDoing);
  }

  String describe() {
    return process.describe(40);
  }

  @Override
  public void close() {
    process.stop(STOP_GRACE);
  }

  private static Path jar() {
    return RepoRoot.built("demo/target/demo.jar", "`mvn -pl tests -am verify` or deploy/local/run.sh");
  }
}
