package dev.rotor.policywatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyError;
import dev.rotor.policy.PolicyException;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

  @Test
  void aListenerThatThrows_doesNotStopPolling() throws Exception {
    Files.writeString(file, policy(9090));
    listener.throwOnPolicy = true;
    PolicyWatcher w = started(file);

    Files.writeString(file, policy(9091));
    scheduler.advance(POLL);
    Files.writeString(file, policy(9092));
    scheduler.advance(POLL);

    assertThat(listener.policies).hasSize(2);
    assertThat(appPort(w.current())).isEqualTo(9092);
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
    return new PolicyWatcher(f, scheduler, POLL, listener);
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
    boolean throwOnPolicy;

    @Override
    public void onPolicy(Policy p) {
      policies.add(p);
      if (throwOnPolicy) {
        throw new IllegalStateException("listener failure (expected by the test)");
      }
    }

    @Override
    public void onRejected(List<PolicyError> errors) {
      rejections.add(errors);
    }
  }
}
