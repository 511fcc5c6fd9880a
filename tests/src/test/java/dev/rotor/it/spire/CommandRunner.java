package dev.rotor.it.spire;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs short-lived commands (the {@code spire-server} and {@code spire-agent} CLIs, the SPIRE
 * build script) with a time limit. Output goes through a file, not a pipe, so a chatty command
 * can never block on a full pipe while we wait for it.
 */
final class CommandRunner {
  record Result(List<String> command, int exitCode, String output) {
    boolean succeeded() {
      return exitCode == 0;
    }

    /** Returns this result if the command succeeded; throws with its output otherwise. */
    Result orThrow() {
      if (exitCode != 0) {
        throw new IllegalStateException(
            "command failed with status " + exitCode + ": " + String.join(" ", command)
                + "\n--- output\n" + output);
      }
      return this;
    }

    String lastLine() {
      String[] lines = output.strip().split("\n");
      return lines[lines.length - 1].strip();
    }
  }

  private final Path scratchDir;

  CommandRunner(Path scratchDir) {
    this.scratchDir = scratchDir;
  }

  /** Runs {@code command}, stdout and stderr merged; kills it and throws after {@code timeout}. */
  Result run(List<String> command, Duration timeout) {
    Path output = null;
    try {
      output = Files.createTempFile(scratchDir, "cmd-", ".out");
      Process process = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(output.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
          .start();
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
      if (output != null) {
        try {
          Files.deleteIfExists(output);
        } catch (IOException ignored) {
          // A leftover scratch file in the fixture's temp dir is harmless.
        }
      }
    }
  }
}
