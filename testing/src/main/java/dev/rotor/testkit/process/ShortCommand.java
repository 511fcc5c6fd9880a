package dev.rotor.testkit.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short-lived command (initdb, pg_ctl, postgres in single-user mode, getent, the
 * {@code spire-server} and {@code spire-agent} CLIs, the SPIRE build script) with a time limit and
 * optional standard input. Output goes through a file, not a pipe, so neither a chatty
 * command nor a daemon that inherits the output (pg_ctl's postmaster) can block us.
 */
public final class ShortCommand {
  public record Result(List<String> command, int exitCode, String output) {
    public boolean succeeded() {
      return exitCode == 0;
    }

    /** Returns this result if the command succeeded; throws with its output otherwise. */
    public Result orThrow() {
      if (exitCode != 0) {
        throw new IllegalStateException("command failed with status " + exitCode + ": "
            + String.join(" ", command) + "\n--- output\n" + output);
      }
      return this;
    }

    public String lastLine() {
      String[] lines = output.strip().split("\n");
      return lines[lines.length - 1].strip();
    }
  }

  private ShortCommand() {}

  /** Runs {@code command} with stdout and stderr merged and no input. */
  public static Result run(List<String> command, Duration timeout) {
    return run(command, null, timeout);
  }

  /**
   * Runs {@code command} with stdout and stderr merged and {@code stdin} (may be null: no input)
   * as its input; kills it and throws after {@code timeout}.
   */
  public static Result run(List<String> command, String stdin, Duration timeout) {
    Path output = null;
    Path input = null;
    try {
      output = Files.createTempFile("rotor-cmd-", ".out");
      ProcessBuilder builder = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(output.toFile());
      if (stdin == null) {
        builder.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      } else {
        input = Files.createTempFile("rotor-cmd-", ".in");
        Files.writeString(input, stdin, StandardCharsets.UTF_8);
        builder.redirectInput(input.toFile());
      }
      Process process = builder.start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new IllegalStateException("command did not finish within " + timeout + ": "
            + String.join(" ", command) + "\n--- output so far\n"
            + Files.readString(output, StandardCharsets.UTF_8));
      }
      return new Result(command, process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + String.join(" ", command), e);
    } finally {
      deleteQuietly(output);
      deleteQuietly(input);
    }
  }

  private static void deleteQuietly(Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // A leftover scratch file in /tmp is harmless.
      }
    }
  }
}
