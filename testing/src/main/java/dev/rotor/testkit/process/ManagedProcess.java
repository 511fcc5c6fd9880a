package dev.rotor.testkit.process;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A child process of an end-to-end test (SPIRE server or agent, Rotor) whose output goes to log
 * files, so a failing test can show what the process said, and which is always ended: by
 * {@link #stop}, or by a JVM shutdown hook if the test JVM exits first.
 */
public final class ManagedProcess implements AutoCloseable {
  private final String name;
  private final List<String> command;
  private final Process process;
  private final Path stdout;
  private final Path stderr;
  private final Thread killOnExit;

  private ManagedProcess(
      String name, List<String> command, Process process, Path stdout, Path stderr) {
    this.name = name;
    this.command = List.copyOf(command);
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
    this.killOnExit = new Thread(process::destroyForcibly, "kill " + name);
    Runtime.getRuntime().addShutdownHook(killOnExit);
  }

  /** Starts {@code command} with stdout and stderr both appended to {@code log}. */
  public static ManagedProcess start(String name, List<String> command, Path log) {
    return start(name, command, log, log);
  }

  /**
   * Starts {@code command}, appending stdout to {@code stdout} and stderr to {@code stderr} (the
   * same path for both merges them).
   */
  public static ManagedProcess start(String name, List<String> command, Path stdout, Path stderr) {
    return start(name, command, Map.of(), stdout, stderr);
  }

  /**
   * As {@link #start(String, List, Path, Path)}, with {@code environment} added to (or replacing
   * entries of) this process's environment, e.g. the demo applications' configuration.
   */
  public static ManagedProcess start(String name, List<String> command, Map<String, String> environment,
      Path stdout, Path stderr) {
    requireNonNull(name, "name");
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(environment);
    builder.redirectOutput(ProcessBuilder.Redirect.appendTo(stdout.toFile()));
    if (stdout.equals(stderr)) {
      builder.redirectErrorStream(true);
    } else {
      builder.redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile()));
    }
    try {
      return new ManagedProcess(name, command, builder.start(), stdout, stderr);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + ": " + String.join(" ", command), e);
    }
  }

  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public Path stdout() {
    return stdout;
  }

  /** Throws, with the end of the process's logs, if the process has exited. */
  public void checkAlive(String whileDoing) {
    if (!process.isAlive()) {
      throw new IllegalStateException(
          name + " exited with status " + process.exitValue() + " while " + whileDoing + "\n"
              + describe(40));
    }
  }

  /** The command line and the last {@code lines} lines of each log, for failure messages. */
  public String describe(int lines) {
    StringBuilder out = new StringBuilder();
    out.append("--- ").append(name).append(" (pid ").append(process.pid()).append("): ")
        .append(String.join(" ", command)).append('\n');
    out.append("--- last ").append(lines).append(" lines of ").append(stdout).append('\n')
        .append(tail(stdout, lines));
    if (!stderr.equals(stdout)) {
      out.append("--- last ").append(lines).append(" lines of ").append(stderr).append('\n')
          .append(tail(stderr, lines));
    }
    return out.toString();
  }

  /**
   * Asks the process to end (SIGTERM), and kills it if it has not ended within {@code grace}.
   * Returns once the process has ended (bounded by {@code grace} plus 10 s for the kill).
   */
  public void stop(Duration grace) {
    try {
      if (process.isAlive()) {
        process.destroy();
        if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException(name + " (pid " + process.pid()
                + ") still running 10 s after SIGKILL");
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    } finally {
      removeShutdownHook();
    }
  }

  /**
   * Kills the process with SIGKILL, as a crash or the OOM killer would: no shutdown hook, no
   * cleanup. Returns once it has ended (at most 10 s).
   */
  public void kill() {
    try {
      process.destroyForcibly();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException(name + " (pid " + process.pid() + ") still running 10 s after SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while killing " + name, e);
    } finally {
      removeShutdownHook();
    }
  }

  @Override
  public void close() {
    stop(Duration.ofSeconds(10));
  }

  private void removeShutdownHook() {
    try {
      Runtime.getRuntime().removeShutdownHook(killOnExit);
    } catch (IllegalStateException alreadyShuttingDown) {
      // The hook runs anyway; nothing to undo.
    }
  }

  /** The last {@code lines} lines of a text file, or a note saying why there are none. */
  public static String tail(Path file, int lines) {
    try {
      if (!Files.exists(file)) {
        return "(" + file + " does not exist)\n";
      }
      List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
      List<String> last = all.subList(Math.max(0, all.size() - lines), all.size());
      return last.isEmpty() ? "(empty)\n" : String.join("\n", last) + "\n";
    } catch (IOException | UncheckedIOException e) {
      return "(cannot read " + file + ": " + e + ")\n";
    }
  }
}
