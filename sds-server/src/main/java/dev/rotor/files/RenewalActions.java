package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import dev.rotor.files.HelperConfig.Reload;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happens after the files changed, in this order: {@code cmd} is started (first time) or sent
 * {@code renew_signal}; the process whose PID is in {@code pid_file_name} is sent {@code
 * renew_signal}; {@code reload_cmd} is run to completion.
 *
 * <p>Unlike spiffe-helper, a {@code cmd} that exited is not started again by a renewal (that would
 * turn a crash into a silent restart at an arbitrary later time); its exit is logged and reported.
 * The pid file is re-read on every renewal and every retry, so a restarted program is found; while
 * it does not exist yet, the retries log at DEBUG only (spiffe-helper #251). Its PID is signalled
 * only if its writer could have signalled that process anyway ({@link PidFile}).
 *
 * <p>Threading: every method runs on the writer's executor, the one {@code scheduler} passed in;
 * retries are scheduled on it. Only the exit of {@code cmd} is observed on another thread, through
 * a volatile field.
 */
final class RenewalActions implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(RenewalActions.class);

  /** Pid-file signalling: first retry after 100 ms, doubling, at most 5 s apart, 8 attempts (~16 s). */
  static final Duration PID_RETRY_INITIAL = Duration.ofMillis(100);
  static final Duration PID_RETRY_MAX = Duration.ofSeconds(5);
  static final int PID_ATTEMPTS = 8;

  private final Reload config;
  private final Optional<Integer> requiredUid;
  private final ScheduledExecutorService scheduler;
  private final Path workingDirectory;

  private final AtomicLong signalsSent = new AtomicLong();
  private final AtomicLong signalFailures = new AtomicLong();
  private final AtomicLong reloadCmdRuns = new AtomicLong();
  private final AtomicLong reloadCmdFailures = new AtomicLong();

  // Confined to the scheduler's thread.
  private volatile Process cmdProcess;
  private volatile ScheduledFuture<?> pidRetry;
  private volatile String cmdExit;

  /**
   * @param requiredUid the UID a process named in the pid file must run as, besides the file's
   *     owner: {@code key_file_owner}'s, when configured ({@link PidFile})
   */
  RenewalActions(Reload config, Optional<Integer> requiredUid, ScheduledExecutorService scheduler,
      Path workingDirectory) {
    this.config = requireNonNull(config, "config");
    this.requiredUid = requireNonNull(requiredUid, "requiredUid");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.workingDirectory = requireNonNull(workingDirectory, "workingDirectory");
  }

  /**
   * After a successful publish (or the first check that finds the files already in place).
   *
   * @param contentChanged whether the files' content is new (programs need telling only then)
   * @return problems to report, one line each (empty when all went well)
   */
  List<String> afterPublish(boolean contentChanged) {
    List<String> problems = new ArrayList<>();
    if (config.cmd().isPresent()) {
      cmd(contentChanged, problems);
    }
    if (contentChanged && config.pidFile().isPresent()) {
      if (pidRetry != null) {
        pidRetry.cancel(false); // a newer renewal supersedes the retries of the previous one
      }
      signalPidFile(1);
    }
    if (contentChanged && !config.reloadCmd().isEmpty()) {
      reloadCmd(problems);
    }
    return problems;
  }

  private void cmd(boolean contentChanged, List<String> problems) {
    if (cmdProcess == null) {
      List<String> command = new ArrayList<>();
      command.add(config.cmd().get());
      command.addAll(config.cmdArgs());
      try {
        // stdio passed through, as spiffe-helper does: cmd is usually the program itself.
        cmdProcess = new ProcessBuilder(command).directory(workingDirectory.toFile()).inheritIO().start();
      } catch (IOException e) {
        String p = "cmd: cannot start " + config.cmd().get() + ": " + e.getMessage()
            + " (check the path and that it is executable)";
        log.error(p);
        problems.add(p);
        cmdProcess = null;
        return;
      }
      long pid = cmdProcess.pid();
      log.atInfo().addKeyValue("pid", pid).addKeyValue("cmd", config.cmd().get()).log("cmd started");
      cmdProcess.onExit().thenAccept(p -> {
        cmdExit = "cmd (pid " + pid + ") exited with status " + p.exitValue();
        log.atWarn().addKeyValue("pid", pid).addKeyValue("exit_status", p.exitValue())
            .log("cmd exited; Rotor does not restart it (restart Rotor, or let the container restart)");
      });
      return;
    }
    if (!contentChanged) {
      return;
    }
    if (!cmdProcess.isAlive()) {
      String p = (cmdExit != null ? cmdExit : "cmd exited") + "; not restarted, so it was not told about the renewal";
      log.warn(p);
      problems.add(p);
      return;
    }
    signal(cmdProcess.pid(), "cmd", problems);
  }

  private void signal(long pid, String what, List<String> problems) {
    try {
      Kill.send(pid, config.renewSignal().get());
      signalsSent.incrementAndGet();
      log.atInfo().addKeyValue("pid", pid).addKeyValue("signal", config.renewSignal().get().name())
          .log("signalled " + what);
    } catch (IOException e) {
      signalFailures.incrementAndGet();
      String p = what + ": cannot send " + config.renewSignal().get() + " to pid " + pid + ": " + e.getMessage();
      log.error(p);
      problems.add(p);
    }
  }

  /**
   * One attempt at signalling the PID in the pid file; schedules the next on failure. A missing
   * file is normal while the program starts, so it is quiet (DEBUG) until the last attempt.
   */
  private void signalPidFile(int attempt) {
    pidRetry = null;
    Path file = config.pidFile().get();
    String problem;
    boolean quiet = false;
    try {
      long pid = PidFile.pidToSignal(file, requiredUid);
      try {
        Kill.send(pid, config.renewSignal().get());
        signalsSent.incrementAndGet();
        log.atInfo().addKeyValue("pid", pid).addKeyValue("pid_file", file.toString())
            .addKeyValue("signal", config.renewSignal().get().name()).log("signalled the process in pid_file_name");
        return;
      } catch (IOException e) {
        problem = "pid_file_name " + file + ": cannot signal pid " + pid + ": " + e.getMessage();
      }
    } catch (PidFile.Refused e) {
      problem = "pid_file_name " + file + e.getMessage();
      quiet = e.quiet();
    }
    if (attempt < PID_ATTEMPTS) {
      long delay = Math.min(PID_RETRY_MAX.toMillis(), PID_RETRY_INITIAL.toMillis() << (attempt - 1));
      log.debug("{}; retrying in {} ms (attempt {} of {})", problem, delay, attempt, PID_ATTEMPTS);
      pidRetry = scheduler.schedule(() -> signalPidFile(attempt + 1), delay, TimeUnit.MILLISECONDS);
      return;
    }
    if (quiet) {
      // Not an error: the program is not running yet and will read the new files when it starts.
      log.info("{}; nothing signalled (a program that starts later reads the new files)", problem);
      return;
    }
    signalFailures.incrementAndGet();
    log.error("{} (gave up after {} attempts)", problem, PID_ATTEMPTS);
  }

  private void reloadCmd(List<String> problems) {
    Duration timeout = config.reloadCmdTimeout();
    String shown = String.join(" ", config.reloadCmd());
    try {
      Process p = new ProcessBuilder(config.reloadCmd()).directory(workingDirectory.toFile()).inheritIO()
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException("did not finish within " + timeout.toSeconds() + "s and was killed");
      }
      if (p.exitValue() != 0) {
        throw new IOException("exited with status " + p.exitValue());
      }
      reloadCmdRuns.incrementAndGet();
      log.atInfo().addKeyValue("reload_cmd", shown).log("reload_cmd finished");
    } catch (IOException e) {
      reloadCmdFailures.incrementAndGet();
      String problem = "reload_cmd \"" + shown + "\" " + e.getMessage();
      log.error(problem);
      problems.add(problem);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The running cmd's PID, if it was started and is alive. */
  java.util.OptionalLong cmdPid() {
    Process p = cmdProcess;
    return p != null && p.isAlive() ? java.util.OptionalLong.of(p.pid()) : java.util.OptionalLong.empty();
  }

  long signalsSent() {
    return signalsSent.get();
  }

  long signalFailures() {
    return signalFailures.get();
  }

  long reloadCmdRuns() {
    return reloadCmdRuns.get();
  }

  long reloadCmdFailures() {
    return reloadCmdFailures.get();
  }

  /**
   * Stops retrying, and stops {@code cmd} if it runs: SIGTERM, then up to 5 s for it to exit (a
   * JVM's children outlive it otherwise, which outside a container leaves an orphan).
   */
  @Override
  public void close() {
    ScheduledFuture<?> retry = pidRetry;
    if (retry != null) {
      retry.cancel(false);
    }
    Process p = cmdProcess;
    if (p != null && p.isAlive()) {
      p.destroy();
      try {
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
          log.warn("cmd (pid {}) did not exit within 5s of SIGTERM; leaving it", p.pid());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
