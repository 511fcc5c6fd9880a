package dev.rotor.policywatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyError;
import dev.rotor.policy.PolicyException;
import dev.rotor.policy.PolicyParser;
import dev.rotor.testing.FakeScheduler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The watcher against real files in a temp directory, driven by a fake scheduler: every way a
 * policy file gets replaced in practice is noticed, and a bad version never displaces a good one.
 */
class PolicyWatcherTest {

  private static final Duration POLL = PolicyWatcher.DEFAULT_POLL_INTERVAL;

  @TempDir Path dir;
  private final FakeScheduler scheduler = new FakeScheduler();
  private final Recorder listener = new Recorder();
  private Path file;

  @BeforeEach
  void setUp() {
    file = dir.resolve("policy.yaml");
  }

  @Test
  void start_returnsTheFirstPolicy_withoutCallingTheListener() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = watcher(file);

    Policy first = w.start();

    assertThat(first.workload("backend").orElseThrow().inbound().orElseThrow().appPort()).isEqualTo(9090);
    assertThat(w.current()).isSameAs(first);
    assertThat(listener.policies).isEmpty();
    assertThat(scheduler.nextDelay()).isEqualTo(POLL);
  }

  @Test
  void start_withAnInvalidFile_throwsEveryError_andDoesNotPoll() throws Exception {
    Files.writeString(file, "version: 2\nworkloads: []\n");
    PolicyWatcher w = watcher(file);

    assertThatThrownBy(w::start)
        .isInstanceOf(PolicyException.class)
        .satisfies(e -> assertThat(((PolicyException) e).errors()).map(PolicyError::toString).containsExactly(
            file + ":1: version: 2 is not supported (expected 1)",
            file + ":2: workloads: empty list (expected at least one workload)"));
    assertThat(scheduler.pendingTasks()).isZero();
  }

  @Test
  void start_withAMissingFile_throwsIOException() {
    PolicyWatcher w = watcher(file);

    assertThatThrownBy(w::start).isInstanceOf(NoSuchFileException.class);
    assertThat(scheduler.pendingTasks()).isZero();
  }

  @Test
  void inPlaceWrite_isPublishedAtTheNextPoll() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = started(file);

    Files.writeString(file, policy(9091));
    scheduler.advance(POLL.minusMillis(1));
    assertThat(listener.policies).isEmpty();
    scheduler.advance(Duration.ofMillis(1));

    assertThat(listener.policies).hasSize(1);
    assertThat(appPort(listener.policies.get(0))).isEqualTo(9091);
    assertThat(w.current()).isSameAs(listener.policies.get(0));
  }

  @Test
  void replacementByRename_isPublished() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = started(file);

    Path tmp = dir.resolve(".policy.yaml.tmp");
    Files.writeString(tmp, policy(9092));
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    scheduler.advance(POLL);

    assertThat(listener.policies).hasSize(1);
    assertThat(appPort(w.current())).isEqualTo(9092);
  }

  @Test
  void configMapSymlinkSwap_isPublished() throws Exception {
    // The layout kubelet gives a mounted ConfigMap: the file is a link through ..data, and an
    // update writes a new timestamped directory and renames a new ..data link over the old one.
    Path first = Files.createDirectory(dir.resolve("..2026_a"));
    Files.writeString(first.resolve("policy.yaml"), policy(9090));
    Files.createSymbolicLink(dir.resolve("..data"), Path.of("..2026_a"));
    Files.createSymbolicLink(file, Path.of("..data", "policy.yaml"));
    PolicyWatcher w = started(file);

    Path second = Files.createDirectory(dir.resolve("..2026_b"));
    Files.writeString(second.resolve("policy.yaml"), policy(9093));
    Files.createSymbolicLink(dir.resolve("..data_tmp"), Path.of("..2026_b"));
    Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
    deleteTree(first);
    scheduler.advance(POLL);

    assertThat(listener.policies).hasSize(1);
    assertThat(appPort(w.current())).isEqualTo(9093);
    assertThat(w.rejectedCount()).isZero();
  }

  @Test
  void invalidVersion_isRejectedOnceAndCounted_andTheLastGoodStays() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = started(file);
    Policy good = w.current();

    Files.writeString(file, policy(9090).replace("protocol: http", "protocol: grpc"));
    scheduler.advance(POLL.multipliedBy(3));

    assertThat(w.current()).isSameAs(good);
    assertThat(w.rejectedCount()).isEqualTo(1);
    assertThat(listener.policies).isEmpty();
    assertThat(listener.rejections).hasSize(1);
    assertThat(listener.rejections.get(0)).map(PolicyError::toString).containsExactly(
        file + ":10: workloads[0].inbound.protocol: \"grpc\" is not a protocol (expected http or tcp)");

    Files.writeString(file, policy(9094));
    scheduler.advance(POLL);

    assertThat(appPort(w.current())).isEqualTo(9094);
    assertThat(listener.policies).hasSize(1);
    assertThat(w.rejectedCount()).isEqualTo(1);
  }

  @Test
  void whitespaceAndCommentChange_isNotRepublished() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = started(file);
    Policy before = w.current();

    Files.writeString(file, "# reformatted\n\n" + policy(9090).replace("\n", "   \n") + "\n\n# the end\n");
    scheduler.advance(POLL.multipliedBy(2));

    assertThat(listener.policies).isEmpty();
    assertThat(listener.rejections).isEmpty();
    assertThat(w.current()).isSameAs(before);
  }

  @Test
  void missingFile_isARejectedVersion_andReturningUnchangedIsNotRepublished() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = started(file);
    Policy good = w.current();

    Files.delete(file);
    scheduler.advance(POLL.multipliedBy(3));

    assertThat(w.current()).isSameAs(good);
    assertThat(w.rejectedCount()).isEqualTo(1);
    assertThat(listener.rejections).hasSize(1);
    assertThat(listener.rejections.get(0).get(0).toString())
        .startsWith(file + ": cannot read the policy file: NoSuchFileException");

    Files.writeString(file, policy(9090));
    scheduler.advance(POLL);

    assertThat(listener.policies).isEmpty();
    assertThat(w.current()).isSameAs(good);
  }

  @Test
  void fileThatIsNotUtf8_isRejected() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = started(file);

    Files.write(file, new byte[] {'v', 'e', 'r', (byte) 0xff, '\n'});
    scheduler.advance(POLL);

    assertThat(w.rejectedCount()).isEqualTo(1);
    assertThat(listener.rejections.get(0).get(0).message()).contains("is not valid UTF-8");
  }

  /** An exception, or an Error (which used to escape the poll and cancel it), from the listener. */
  @ParameterizedTest
  @ValueSource(classes = {IllegalStateException.class, StackOverflowError.class})
  void aListenerThatThrows_doesNotStopPolling(Class<? extends Throwable> thrown) throws Exception {
    Files.writeString(file, policy(9090));
    listener.toThrow = thrown.getConstructor(String.class).newInstance("listener failure (expected by the test)");
    PolicyWatcher w = started(file);

    Files.writeString(file, policy(9091));
    scheduler.advance(POLL);
    Files.writeString(file, policy(9092));
    scheduler.advance(POLL);

    assertThat(listener.policies).hasSize(2);
    assertThat(appPort(w.current())).isEqualTo(9092);
    assertThat(w.problem()).isEmpty();
  }

  /**
   * Issue 13, finding 9: 3,000 nested lists made the parser throw StackOverflowError, which escaped
   * the poll; the scheduler cancelled the task and every later edit was ignored. The poll runs here
   * on a thread with a small stack, as rotor serve's scheduler thread is small next to the test's.
   */
  @Test
  void deeplyNestedVersion_isRejectedAndCounted_andLaterEditsStillApply() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = started(file);
    Policy good = w.current();

    Files.writeString(file, "version: 1\nworkloads: " + "[".repeat(3_000) + "]".repeat(3_000) + "\n");
    advanceOnASmallStack(POLL);

    assertThat(w.current()).isSameAs(good);
    assertThat(w.rejectedCount()).isEqualTo(1);
    assertThat(listener.rejections).hasSize(1);
    assertThat(listener.rejections.get(0).get(0).message()).startsWith("nested more than 64 levels deep");
    assertThat(w.problem()).isEmpty();

    Files.writeString(file, policy(9095));
    advanceOnASmallStack(POLL);

    assertThat(appPort(w.current())).isEqualTo(9095);
    assertThat(listener.policies).hasSize(1);
  }

  @Test
  void anErrorThrownWhileParsing_isARejectedVersion_andPollingGoesOn() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = new PolicyWatcher(file, scheduler, POLL, listener, scheduler.clock(), (name, text) -> {
      if (text.contains("9091")) {
        throw new StackOverflowError("thrown by the test's parser");
      }
      return PolicyParser.parse(name, text);
    });
    w.start();

    Files.writeString(file, policy(9091));
    scheduler.advance(POLL.multipliedBy(3));

    assertThat(appPort(w.current())).isEqualTo(9090);
    assertThat(w.rejectedCount()).as("one rejection for one new version, however many polls").isEqualTo(1);
    assertThat(listener.rejections).singleElement().satisfies(errors -> assertThat(errors).map(PolicyError::toString)
        .containsExactly(file + ": cannot be read or parsed: java.lang.StackOverflowError (see the log)"));
    assertThat(w.problem()).isEmpty();

    Files.writeString(file, policy(9092));
    scheduler.advance(POLL);

    assertThat(appPort(w.current())).isEqualTo(9092);
  }

  @Test
  void aWatcherWhosePollsStop_isAProblem_forReadiness() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = started(file);
    scheduler.advance(PolicyWatcher.MIN_STALL);
    assertThat(w.problem()).as("a working watcher").isEmpty();

    scheduler.shutdownNow(); // the poll task is gone, as if its scheduler had dropped it
    scheduler.advance(PolicyWatcher.MIN_STALL.plusSeconds(1));

    assertThat(w.problem()).hasValue("--policy " + file + ": no poll of the file completed for 31s (expected one"
        + " every 1000ms); edits are not being applied");
    w.close();
    assertThat(w.problem()).as("after close").isEmpty();
  }

  @Test
  void aPollTaskThatEnded_isAProblem_forReadiness() throws Exception {
    Files.writeString(file, policy(9090));
    ScheduledThreadPoolExecutor real = new ScheduledThreadPoolExecutor(1);
    try {
      PolicyWatcher w = new PolicyWatcher(file, real, POLL, listener, scheduler.clock());
      w.start();
      assertThat(w.problem()).isEmpty();

      real.shutdown(); // cancels periodic tasks: the watcher's future is done, and close() was not called

      assertThat(w.problem()).hasValue("--policy " + file + ": the policy watcher stopped; edits to the file are no"
          + " longer applied (see the log; restart Rotor)");
    } finally {
      real.shutdownNow();
    }
  }

  private void advanceOnASmallStack(Duration d) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Thread t = new Thread(null, () -> {
      try {
        scheduler.advance(d);
        done.complete(null);
      } catch (Throwable e) {
        done.completeExceptionally(e);
      }
    }, "small-stack-poll", 256 * 1024);
    t.start();
    done.get(30, TimeUnit.SECONDS);
  }

  @Test
  void close_stopsPolling() throws Exception {
    Files.writeString(file, policy(9090));
    PolicyWatcher w = started(file);

    w.close();
    Files.writeString(file, policy(9091));
    scheduler.advance(POLL.multipliedBy(2));

    assertThat(scheduler.pendingTasks()).isZero();
    assertThat(listener.policies).isEmpty();
    assertThat(appPort(w.current())).isEqualTo(9090);
  }

  private PolicyWatcher watcher(Path f) {
    return new PolicyWatcher(f, scheduler, POLL, listener, scheduler.clock());
  }

  private PolicyWatcher started(Path f) throws Exception {
    PolicyWatcher w = watcher(f);
    w.start();
    return w;
  }

  private static int appPort(Policy p) {
    return p.workload("backend").orElseThrow().inbound().orElseThrow().appPort();
  }

  private static String policy(int appPort) {
    return """
        version: 1
        trustDomain: example.org
        workloads:
          - name: backend
            match:
              nodeIds: [backend]
            inbound:
              port: 8080
              appPort: %d
              protocol: http
              rules:
                - action: allow
                  from:
                    - spiffeId: spiffe://example.org/ns/demo/sa/frontend
        """.formatted(appPort);
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  /** Records listener calls; they arrive on the thread that advances the fake scheduler. */
  private static final class Recorder implements PolicyWatcher.Listener {
    final List<Policy> policies = new ArrayList<>();
    final List<List<PolicyError>> rejections = new ArrayList<>();
    Throwable toThrow;

    @Override
    public void onPolicy(Policy p) {
      policies.add(p);
      if (toThrow instanceof RuntimeException e) {
        throw e;
      }
      if (toThrow instanceof Error e) {
        throw e;
      }
    }

    @Override
    public void onRejected(List<PolicyError> errors) {
      rejections.add(errors);
    }
  }
}
