package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import dev.rotor.files.HelperConfig.Reload;
import dev.rotor.testing.FakeScheduler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starting cmd, signalling it or the pid file's process, running reload_cmd: with real processes. */
class RenewalActionsTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Optional<RenewSignal> HUP = Optional.of(new RenewSignal("SIGHUP"));

  @TempDir Path dir;
  private final FakeScheduler scheduler = new FakeScheduler();
  private final List<Process> started = new ArrayList<>();
  private final List<RenewalActions> actions = new ArrayList<>();

  @AfterEach
  void stop() {
    actions.forEach(RenewalActions::close);
    started.forEach(Process::destroyForcibly);
  }

  private RenewalActions actions(Reload reload) {
    return actions(reload, Optional.empty());
  }

  private RenewalActions actions(Reload reload, Optional<Integer> keyFileOwnerUid) {
    RenewalActions a = new RenewalActions(reload, keyFileOwnerUid, scheduler, dir);
    actions.add(a);
    return a;
  }

  /** A shell that writes "hup" to {@code marker} on each SIGHUP and its PID to {@code pidFile}. */
  private String trapScript(Path marker, Path pidFile) {
    return "umask 022; trap 'echo hup >> " + marker + "' HUP; echo $$ > " + pidFile + ".tmp; mv " + pidFile + ".tmp " + pidFile
        + "; while :; do sleep 0.05; done";
  }

  /**
   * Runs {@code script} in a shell that can trap SIGHUP: a shell cannot trap a signal that was
   * ignored when it started, as SIGHUP is for everything started under nohup (this test's JVM
   * included), so env resets it to the default first and then execs the shell (same PID).
   */
  private static List<String> shellWithHup(String script) {
    return List.of("env", "--default-signal=HUP", "sh", "-c", script);
  }

  private Process startTrap(Path marker, Path pidFile) throws IOException {
    Process p = new ProcessBuilder(shellWithHup(trapScript(marker, pidFile))).start();
    started.add(p);
    await().atMost(WAIT).until(() -> Files.exists(pidFile));
    return p;
  }

  /** A pid file as programs write them: 0644 whatever the umask of this build (Rotor refuses 0664). */
  private Path pidFile(String content) throws IOException {
    Path f = Files.writeString(dir.resolve("app.pid"), content);
    Files.setPosixFilePermissions(f, FileSpec.permissions(0644));
    return f;
  }

  private static long lines(Path file) throws IOException {
    return Files.exists(file) ? Files.readAllLines(file).size() : 0;
  }

  private static Reload pidFileReload(Path pidFile) {
    return new Reload(Optional.empty(), List.of(), Optional.of(pidFile), HUP, List.of(), Duration.ofSeconds(5));
  }

  @Test
  void pidFile_processGetsTheSignal() throws IOException {
    Path marker = dir.resolve("marker");
    Path pidFile = dir.resolve("app.pid");
    startTrap(marker, pidFile);
    RenewalActions a = actions(pidFileReload(pidFile));

    assertThat(a.afterPublish(true)).isEmpty();
    await().atMost(WAIT).until(() -> lines(marker) == 1);
    assertThat(a.signalsSent()).isEqualTo(1);
  }

  @Test
  void contentUnchanged_nobodyIsSignalled() throws IOException {
    Path marker = dir.resolve("marker");
    Path pidFile = dir.resolve("app.pid");
    startTrap(marker, pidFile);
    RenewalActions a = actions(pidFileReload(pidFile));

    a.afterPublish(false);
    scheduler.advance(Duration.ofMinutes(1));
    assertThat(a.signalsSent()).isZero();
    assertThat(lines(marker)).isZero();
  }

  @Test
  void pidFileMissing_retriesQuietly_thenOneInfoLine() {
    RenewalActions a = actions(pidFileReload(dir.resolve("not-yet.pid")));
    try (Logs logs = new Logs(RenewalActions.class)) {
      a.afterPublish(true);
      assertThat(scheduler.pendingTasks()).isEqualTo(1);
      scheduler.advance(Duration.ofMinutes(1));
      assertThat(logs.atLeast(Level.WARN)).isEmpty();
      assertThat(logs.atLeast(Level.INFO)).containsExactly("INFO pid_file_name " + dir.resolve("not-yet.pid")
          + " does not exist yet; nothing signalled (a program that starts later reads the new files)");
      assertThat(logs.lines()).filteredOn(l -> l.startsWith("DEBUG")).hasSize(RenewalActions.PID_ATTEMPTS - 1);
    }
    assertThat(a.signalFailures()).isZero();
  }

  @Test
  void pidFileAppearsDuringTheRetries_isSignalled() throws IOException {
    Path marker = dir.resolve("marker");
    Path pidFile = dir.resolve("late.pid");
    RenewalActions a = actions(pidFileReload(pidFile));
    a.afterPublish(true);
    scheduler.advance(Duration.ofMillis(300));
    startTrap(marker, pidFile);
    scheduler.advance(Duration.ofMinutes(1));
    await().atMost(WAIT).until(() -> lines(marker) == 1);
    assertThat(a.signalsSent()).isEqualTo(1);
  }

  @Test
  void pidFileWithGarbage_oneClearErrorNamingPidFileName() throws IOException {
    Path pidFile = pidFile("not-a-pid\n");
    RenewalActions a = actions(pidFileReload(pidFile));
    try (Logs logs = new Logs(RenewalActions.class)) {
      a.afterPublish(true);
      scheduler.advance(Duration.ofMinutes(1));
      assertThat(logs.atLeast(Level.WARN)).containsExactly("ERROR pid_file_name " + pidFile + ": \"not-a-pid\" is not"
          + " a process ID (expected the decimal PID of the program on the first line) (gave up after 8 attempts)");
    }
    assertThat(a.signalFailures()).isEqualTo(1);
  }

  @Test
  void pidFileOfAProcessThatIsGone_isReported() throws Exception {
    Process p = new ProcessBuilder("true").start();
    p.waitFor();
    Path pidFile = pidFile(p.pid() + "\n");
    RenewalActions a = actions(pidFileReload(pidFile));
    try (Logs logs = new Logs(RenewalActions.class)) {
      a.afterPublish(true);
      scheduler.advance(Duration.ofMinutes(1));
      assertThat(logs.atLeast(Level.ERROR)).containsExactly("ERROR pid_file_name " + pidFile + ": pid " + p.pid()
          + ": no such process (gave up after 8 attempts)");
    }
  }

  /**
   * A process that SIGHUP kills (default disposition, even when this JVM runs under nohup), as
   * root or as {@code uid} (setpriv), for issue 13 finding 8: whom may a pid file make Rotor signal.
   */
  private Process victim(Optional<Integer> uid) throws IOException {
    List<String> command = new ArrayList<>();
    uid.ifPresent(u -> command.addAll(List.of("setpriv", "--reuid=" + u, "--regid=" + u, "--clear-groups")));
    command.addAll(List.of("env", "--default-signal=HUP", "sleep", "60"));
    Process p = new ProcessBuilder(command).start();
    started.add(p);
    return p;
  }

  private static void chown(Path file, int uid) throws IOException {
    Files.setAttribute(file, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(file, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
  }

  @Test
  void pidFileOfAnotherUser_namingARootProcess_isNotSignalled() throws Exception {
    assumeTrue(AtomicFileWriterTest.isRoot(), "a root process and a file of another user need root");
    Process root = victim(Optional.empty());
    Path pidFile = pidFile(root.pid() + "\n");
    chown(pidFile, 65534); // as if uid 65534 had written it, in a directory it may write to
    RenewalActions a = actions(pidFileReload(pidFile));
    try (Logs logs = new Logs(RenewalActions.class)) {
      a.afterPublish(true);
      scheduler.advance(Duration.ofMinutes(1));
      assertThat(logs.atLeast(Level.ERROR)).containsExactly("ERROR pid_file_name " + pidFile + ": pid " + root.pid()
          + " runs as uid 0, not as uid 65534, the file's owner; not signalled (Rotor signals only a process of the"
          + " user who owns the pid file) (gave up after 8 attempts)");
    }
    assertThat(root.waitFor(1, TimeUnit.SECONDS)).as("the root process was killed").isFalse();
    assertThat(a.signalsSent()).isZero();
    assertThat(a.signalFailures()).isEqualTo(1);
  }

  @Test
  void pidFileWritableByOthers_isRefused_namingTheFileAndTheFix() throws Exception {
    Process p = victim(Optional.empty());
    Path pidFile = pidFile(p.pid() + "\n");
    Files.setPosixFilePermissions(pidFile, FileSpec.permissions(0666));
    RenewalActions a = actions(pidFileReload(pidFile));
    try (Logs logs = new Logs(RenewalActions.class)) {
      a.afterPublish(true);
      scheduler.advance(Duration.ofMinutes(1));
      assertThat(logs.atLeast(Level.ERROR)).containsExactly("ERROR pid_file_name " + pidFile + " is writable by"
          + " group or others (mode 0666), who could choose the process Rotor signals; not read (make it writable by"
          + " its owner only: chmod go-w " + pidFile + ") (gave up after 8 attempts)");
    }
    assertThat(p.waitFor(1, TimeUnit.SECONDS)).as("the process was signalled").isFalse();
    assertThat(a.signalsSent()).isZero();
  }

  @Test
  void pidFileThatIsASymlink_isNotRead_soNothingOfItsTargetIsLogged() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "s3cret-first-line\n");
    Files.setPosixFilePermissions(secret, FileSpec.permissions(0600));
    Path pidFile = Files.createSymbolicLink(dir.resolve("app.pid"), secret);
    RenewalActions a = actions(pidFileReload(pidFile));
    try (Logs logs = new Logs(RenewalActions.class)) {
      a.afterPublish(true);
      scheduler.advance(Duration.ofMinutes(1));
      assertThat(logs.lines()).noneMatch(l -> l.contains("s3cret"));
      assertThat(logs.atLeast(Level.ERROR)).containsExactly("ERROR pid_file_name " + pidFile + " is a symbolic link;"
          + " not read (give the path of the pid file itself) (gave up after 8 attempts)");
    }
  }

  @Test
  void keyFileOwnerGiven_aProcessOfAnotherUser_isNotSignalled() throws Exception {
    Process p = victim(Optional.empty()); // runs as this JVM's user, who also owns the pid file
    Path pidFile = pidFile(p.pid() + "\n");
    int self = Principals.ownUid();
    RenewalActions a = actions(pidFileReload(pidFile), Optional.of(4321));
    try (Logs logs = new Logs(RenewalActions.class)) {
      a.afterPublish(true);
      scheduler.advance(Duration.ofMinutes(1));
      assertThat(logs.atLeast(Level.ERROR)).containsExactly("ERROR pid_file_name " + pidFile + ": pid " + p.pid()
          + " runs as uid " + self + ", not as uid 4321, key_file_owner; not signalled (Rotor signals only a process"
          + " of the user the key is for) (gave up after 8 attempts)");
    }
    assertThat(p.isAlive()).isTrue();
    assertThat(a.signalsSent()).isZero();
  }

  @Test
  void pidFileOfAnotherUser_namingTheirOwnProcess_isSignalled() throws Exception {
    assumeTrue(AtomicFileWriterTest.isRoot(), "a process and a file of another user need root");
    Process theirs = victim(Optional.of(65534));
    Path pidFile = pidFile(theirs.pid() + "\n");
    chown(pidFile, 65534);
    // setpriv execs env, env execs sleep: same PID, but wait until it runs as 65534 before signalling.
    await().atMost(WAIT).until(() -> Files.readString(Path.of("/proc/" + theirs.pid() + "/status")).contains(
        "\nUid:\t65534\t"));
    RenewalActions a = actions(pidFileReload(pidFile));

    assertThat(a.afterPublish(true)).isEmpty();
    assertThat(theirs.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("killed by SIGHUP").isTrue();
    assertThat(a.signalsSent()).isEqualTo(1);
  }

  @Test
  void cmd_isStartedOnce_thenSignalled() throws IOException {
    Path marker = dir.resolve("marker");
    Path pidFile = dir.resolve("cmd.pid");
    Path starts = dir.resolve("starts");
    List<String> cmd = shellWithHup("echo start >> " + starts + "; " + trapScript(marker, pidFile));
    Reload reload = new Reload(Optional.of(cmd.get(0)), cmd.subList(1, cmd.size()),
        Optional.empty(), HUP, List.of(), Duration.ofSeconds(5));
    RenewalActions a = actions(reload);

    assertThat(a.afterPublish(true)).isEmpty();
    await().atMost(WAIT).until(() -> Files.exists(pidFile));
    assertThat(a.cmdPid()).isPresent();
    assertThat(lines(marker)).as("the first write starts cmd; nothing to signal").isZero();

    a.afterPublish(false);
    assertThat(lines(marker)).as("unchanged content: no signal").isZero();

    assertThat(a.afterPublish(true)).isEmpty();
    await().atMost(WAIT).until(() -> lines(marker) == 1);
    assertThat(lines(starts)).isEqualTo(1);
    assertThat(a.signalsSent()).isEqualTo(1);
  }

  @Test
  void cmdThatExited_isNotRestarted_andTheRenewalReportsIt() throws IOException {
    Path starts = dir.resolve("starts");
    Reload reload = new Reload(Optional.of("sh"), List.of("-c", "echo start >> " + starts + "; exit 3"),
        Optional.empty(), HUP, List.of(), Duration.ofSeconds(5));
    RenewalActions a = actions(reload);
    a.afterPublish(true);
    await().atMost(WAIT).until(() -> a.cmdPid().isEmpty());

    List<String> problems = a.afterPublish(true);
    assertThat(problems).singleElement().asString().endsWith("exited with status 3; not restarted, so it was not"
        + " told about the renewal");
    assertThat(lines(starts)).isEqualTo(1);
  }

  @Test
  void cmdThatCannotStart_isReported() {
    Reload reload = new Reload(Optional.of(dir.resolve("no-such-program").toString()), List.of(), Optional.empty(),
        HUP, List.of(), Duration.ofSeconds(5));
    assertThat(actions(reload).afterPublish(true)).singleElement().asString()
        .startsWith("cmd: cannot start " + dir.resolve("no-such-program"));
  }

  @Test
  void reloadCmd_runsOncePerChange() throws IOException {
    Path ran = dir.resolve("ran");
    Reload reload = new Reload(Optional.empty(), List.of(), Optional.empty(), Optional.empty(),
        List.of("sh", "-c", "echo ran >> " + ran), Duration.ofSeconds(5));
    RenewalActions a = actions(reload);
    a.afterPublish(true);
    a.afterPublish(false);
    a.afterPublish(true);
    assertThat(lines(ran)).isEqualTo(2);
    assertThat(a.reloadCmdRuns()).isEqualTo(2);
  }

  @Test
  void reloadCmd_failureAndTimeout_areReported() {
    RenewalActions failing = actions(new Reload(Optional.empty(), List.of(), Optional.empty(), Optional.empty(),
        List.of("sh", "-c", "exit 7"), Duration.ofSeconds(5)));
    assertThat(failing.afterPublish(true)).containsExactly("reload_cmd \"sh -c exit 7\" exited with status 7");

    RenewalActions slow = actions(new Reload(Optional.empty(), List.of(), Optional.empty(), Optional.empty(),
        List.of("sleep", "30"), Duration.ofSeconds(1)));
    long start = System.nanoTime();
    assertThat(slow.afterPublish(true)).containsExactly("reload_cmd \"sleep 30\" did not finish within 1s and was"
        + " killed");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    assertThat(slow.reloadCmdFailures()).isEqualTo(1);
  }
}
