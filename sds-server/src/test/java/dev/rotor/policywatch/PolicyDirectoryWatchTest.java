package dev.rotor.policywatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The directory watch applies an edit without waiting for the poll: with a poll interval of an
 * hour, only the watch can deliver a new version within the test's bound, for a file replaced by
 * rename and for a Kubernetes ConfigMap {@code ..data} symlink swap.
 */
class PolicyDirectoryWatchTest {
  /** Longer than the test: a change that arrives came through the watch. */
  private static final Duration NO_POLL = Duration.ofHours(1);
  private static final Duration BOUND = Duration.ofSeconds(5);

  @TempDir Path dir;

  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final AtomicReference<Policy> delivered = new AtomicReference<>();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  @Test
  void fileReplacedByRename_isAppliedWithoutWaitingForThePoll() throws Exception {
    Path file = Files.writeString(dir.resolve("policy.yaml"), policy(9090));
    try (PolicyWatcher watcher = watcher(file)) {
      watcher.start();
      Path next = Files.writeString(dir.resolve("policy.yaml.tmp"), policy(9091));
      long start = System.nanoTime();
      Files.move(next, file, StandardCopyOption.ATOMIC_MOVE);

      awaitAppPort(9091);
      System.out.printf("rename -> policy applied through the directory watch: %d ms%n",
          (System.nanoTime() - start) / 1_000_000);
    }
  }

  @Test
  void configMapDataSymlinkSwap_isAppliedWithoutWaitingForThePoll() throws Exception {
    Path first = Files.createDirectory(dir.resolve("..2026_12_06_01"));
    Files.writeString(first.resolve("policy.yaml"), policy(9090));
    Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
    Path file = Files.createSymbolicLink(dir.resolve("policy.yaml"), Path.of("..data/policy.yaml"));
    try (PolicyWatcher watcher = watcher(file)) {
      watcher.start();
      // What the kubelet does: a new timestamped directory, a new ..data link, renamed over the old.
      Path second = Files.createDirectory(dir.resolve("..2026_12_06_02"));
      Files.writeString(second.resolve("policy.yaml"), policy(9092));
      Path tmpLink = Files.createSymbolicLink(dir.resolve("..data_tmp"), second.getFileName());
      Files.move(tmpLink, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);

      awaitAppPort(9092);
    }
  }

  private PolicyWatcher watcher(Path file) {
    return new PolicyWatcher(file, scheduler, NO_POLL, new PolicyWatcher.Listener() {
      @Override
      public void onPolicy(Policy p) {
        delivered.set(p);
      }

      @Override
      public void onRejected(List<PolicyError> errors) {
        throw new AssertionError("rejected: " + errors);
      }
    }, Clock.systemUTC());
  }

  private void awaitAppPort(int port) {
    await("the policy with appPort " + port + " delivered, with polling an hour away").atMost(BOUND)
        .until(() -> delivered.get() != null
            && delivered.get().workload("backend").orElseThrow().inbound().orElseThrow().appPort() == port);
  }

  private static String policy(int appPort) {
    return """
        version: 1
        trustDomain: example.org
        workloads:
          - name: backend
            match: { nodeIds: [backend] }
            inbound:
              port: 8080
              appPort: %d
              protocol: http
              rules:
                - action: allow
                  from: [ { spiffeId: spiffe://example.org/ns/demo/sa/frontend } ]
        """.formatted(appPort);
  }
}
