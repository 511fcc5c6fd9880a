package dev.rotor.it.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.process.ShortCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/local/run.sh} as a person runs it: it starts the demo, prints where to look, the
 * rotations and the rogue's refusals as they happen, and on Ctrl-C (SIGINT to the script) stops
 * everything, prints the summary with no failed call, writes the chart, and exits 0. Briefly: the
 * story itself is {@code DemoEndToEndIT}'s, on the same stack. The jars were built by this Maven
 * run ({@code ROTOR_DEMO_PREBUILT=1} keeps the script from starting a second Maven on them).
 */
class LocalDemoScriptIT {
  private static final Duration START = Duration.ofSeconds(120);
  private static final Duration STOP = Duration.ofSeconds(90);

  @TempDir
  Path dir;

  private Process script;

  @AfterEach
  void reapEverythingItStarted() throws InterruptedException {
    if (script == null) {
      return;
    }
    // Java runs in a session of its own (setsid): reap it and what it started by descent, not by name.
    List<ProcessHandle> descendants = script.descendants().toList();
    script.destroyForcibly();
    descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroy);
    for (ProcessHandle p : descendants) {
      p.onExit().completeOnTimeout(p, 20, TimeUnit.SECONDS).join();
      if (p.isAlive()) {
        p.destroyForcibly();
      }
    }
  }

  @Test
  void runSh_showsTheStory_andCtrlC_stopsIt_withASummaryAndTheChart() throws Exception {
    Path out = dir.resolve("out");
    Path log = dir.resolve("run.log");
    ProcessBuilder builder = new ProcessBuilder("bash", RepoRoot.resolve("deploy/local/run.sh").toString(),
        "--svid-ttl", "30s", "--ca-ttl", "3m", "--quiet", "--check", "--out", out.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("ROTOR_DEMO_PREBUILT", "1");
    script = builder.start();

    await("run.sh to print where to look, a rotation and a round of rogue refusals (" + log + ")")
        .atMost(START).pollInterval(Duration.ofSeconds(1))
        .until(() -> {
          String text = read(log);
          if (!script.isAlive()) {
            throw new AssertionError("run.sh exited with " + script.exitValue() + ":\n" + text);
          }
          return text.contains("Running. Look at:") && text.matches("(?s).*\\d  rotation  (frontend|backend|database) .*")
              && text.contains("  rogue  ");
        });
    ShortCommand.run(List.of("kill", "-INT", Long.toString(script.pid())), Duration.ofSeconds(10)).orThrow();
    assertThat(script.waitFor(STOP.toSeconds(), TimeUnit.SECONDS)).as("run.sh stopped within %s of Ctrl-C", STOP).isTrue();

    String text = read(log);
    System.out.println(text.substring(text.indexOf("stopping ...")));
    assertThat(script.exitValue()).as("exit status of run.sh --check\n%s", text).isZero();
    assertThat(text).contains("backend Envoy admin   http://127.0.0.1:", "frontend Envoy admin  http://127.0.0.1:")
        .doesNotContain("NOT REFUSED", "CHECK FAILED");
    assertThat(text).containsPattern("frontend +\\d+ calls: \\d+ ok, 0 failed");
    assertThat(out.resolve("timeline.png")).isNotEmptyFile();
    assertThat(out.resolve("summary.txt")).isNotEmptyFile();
    assertThat(script.descendants().filter(ProcessHandle::isAlive).toList()).as("processes left running").isEmpty();
  }

  @Test
  void runSh_anUnknownArgument_isRefusedWithTheUsage() throws Exception {
    ShortCommand.Result result = ShortCommand.run(List.of("env", "ROTOR_DEMO_PREBUILT=1", "bash",
        RepoRoot.resolve("deploy/local/run.sh").toString(), "--ttl", "1m"), START);

    assertThat(result.exitCode()).as(result.output()).isEqualTo(2);
    assertThat(result.output()).contains("unknown argument \"--ttl\"", "usage: deploy/local/run.sh");
  }

  private static String read(Path log) throws IOException {
    return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
  }
}
