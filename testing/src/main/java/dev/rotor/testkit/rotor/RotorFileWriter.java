package dev.rotor.testkit.rotor;

import static org.awaitility.Awaitility.await;

import dev.rotor.testkit.process.OsUser;
import dev.rotor.testkit.process.ManagedProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Rotor's file writer, {@code java -jar rotor.jar write-certs --config helper.conf}, as a child
 * process, run either as this test's user or, through {@link OsUser#command}, as another OS user
 * (the database's), which is what SPIRE's {@code unix} attestor identifies it by. Output goes to
 * {@code NAME.stdout.jsonl} and {@code NAME.stderr.log} in the log directory.
 */
public final class RotorFileWriter implements AutoCloseable {
  private static final Duration STOP_GRACE = Duration.ofSeconds(10);

  private final ManagedProcess process;

  private RotorFileWriter(ManagedProcess process) {
    this.process = process;
  }

  /**
   * Starts the writer with {@code helperConf} (readable by {@code runAs}), as {@code runAs}, or
   * as this process's user when {@code runAs} is null.
   */
  public static RotorFileWriter start(String name, Path helperConf, Path logDir, OsUser runAs) {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        // Two cores run SPIRE, PostgreSQL, two writers and the test: keep each writer small.
        "-XX:+UseSerialGC", "-Xmx128m", "-XX:TieredStopAtLevel=1",
        "-jar", RotorProcess.jar().toString(),
        "write-certs", "--config", helperConf.toString()));
    if (runAs != null) {
      command = runAs.command(command);
    }
    return new RotorFileWriter(ManagedProcess.start(name, command,
        logDir.resolve(name + ".stdout.jsonl"), logDir.resolve(name + ".stderr.log")));
  }

  /** Waits until every file in {@code files} exists; fails with the writer's output otherwise. */
  public void awaitFiles(List<Path> files, Duration timeout) {
    try {
      await(process.name() + " to write " + files)
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> {
            process.checkAlive("waiting for it to write " + files);
            return files.stream().allMatch(Files::isRegularFile);
          });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new IllegalStateException(e.getMessage() + "\n" + describe(), e);
    }
  }

  /** Throws, with the writer's output, if it has exited. */
  public void checkAlive(String whileDoing) {
    process.checkAlive(whileDoing);
  }

  public long pid() {
    return process.pid();
  }

  /** The command line and the ends of the writer's stdout and stderr. */
  public String describe() {
    return process.describe(40);
  }

  @Override
  public void close() {
    process.stop(STOP_GRACE);
  }
}
