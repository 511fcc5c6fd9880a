package dev.rotor.files;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Sends a signal to a process by running {@code kill -s NAME PID}.
 *
 * <p>Why a program: Java cannot send an arbitrary signal. {@link ProcessHandle#destroy()} sends
 * only SIGTERM and {@code destroyForcibly()} only SIGKILL, and {@code sun.misc.Signal.raise} only
 * signals the JVM itself. A {@code kill} binary (procps, or coreutils/busybox) exists in every
 * image that can run PostgreSQL; its exit status tells whether the signal was delivered (1 and
 * "No such process" when the PID is gone). The run is bounded, so a wedged {@code kill} cannot stall
 * the writer.
 */
final class Kill {

  static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final List<String> CANDIDATES = List.of("/bin/kill", "/usr/bin/kill", "/usr/local/bin/kill");

  private Kill() {}

  /**
   * @throws IOException when kill is missing, does not finish in time, or exits non-zero (with its
   *     message, e.g. "No such process")
   */
  static void send(long pid, RenewSignal signal) throws IOException {
    if (pid <= 0) {
      throw new IllegalArgumentException("pid: " + pid + " (expected: > 0; 0 and negative PIDs signal groups)");
    }
    String kill = CANDIDATES.stream().filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElseThrow(() ->
        new IOException("no kill program found (looked for " + String.join(", ", CANDIDATES) + ")"));
    Process p = new ProcessBuilder(kill, "-s", signal.shortName(), Long.toString(pid))
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
    boolean finished;
    try {
      finished = p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while sending " + signal + " to " + pid, e);
    }
    if (!finished) {
      p.destroyForcibly();
      throw new IOException(kill + " did not finish within " + TIMEOUT.toSeconds() + "s");
    }
    if (p.exitValue() != 0) {
      throw new IOException("kill -s " + signal.shortName() + " " + pid + " failed (exit status " + p.exitValue()
          + ")" + output(p));
    }
  }

  /** What kill printed (a line at most; the pipe holds it, kill has exited). */
  private static String output(Process p) {
    try (InputStream in = p.getInputStream()) {
      byte[] b = in.readNBytes(512);
      String s = new String(b, StandardCharsets.UTF_8).strip().replace('\n', ' ');
      return s.isEmpty() ? "" : ": " + s;
    } catch (IOException e) {
      return "";
    }
  }
}
