package dev.rotor.source.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.testing.FakeScheduler;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The source against the fake agent over an in-process channel; time is a {@link FakeScheduler}. */
class WorkloadApiSourceTest {

  private static final TestPki PKI = TestPki.forTrustDomain("example.org");
  private static final String ID = "spiffe://example.org/ns/demo/sa/frontend";

  private final FakeWorkloadApi agent = new FakeWorkloadApi();
  private final FakeScheduler scheduler = new FakeScheduler();
  private final RecordingListener listener = new RecordingListener();
  private final List<ManagedChannel> channels = new CopyOnWriteArrayList<>();
  private Server server;
  private WorkloadApiSource source;

  @BeforeEach
  void startAgent() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(agent.service()).build().start();
    source = WorkloadApiSource.forChannel("workload-api in-process", () -> {
      ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
      channels.add(channel);
      return channel;
    }, scheduler, new Random(42));
  }

  @AfterEach
  void stop() throws InterruptedException {
    source.close();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static ConditionFactory waiting(String what) {
    return await(what).atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5));
  }

  private static X509SVIDResponse response() {
    return X509SVIDResponse.newBuilder().addSvids(PKI.svid(ID, "")).build();
  }

  private Duration awaitRetryScheduled() {
    waiting("a reconnect timer").until(() -> scheduler.pendingTasks() == 1);
    return scheduler.nextDelay();
  }

  private void awaitConnections(int n) {
    waiting(n + " connection(s) to the agent").until(() -> agent.connections() == n);
  }

  private static void assertWithinEqualJitter(Duration delay, long baseMillis) {
    assertThat(delay).isBetween(Duration.ofMillis(baseMillis / 2), Duration.ofMillis(baseMillis));
  }

  @Test
  void start_deliversTheAgentsCurrentIdentities_withTheSecurityHeader() {
    X509SVIDResponse current = response();
    agent.push(current);

    source.start(listener);

    waiting("the first snapshot").until(() -> listener.snapshots.size() == 1);
    IdentitySnapshot snapshot = listener.lastSnapshot();
    assertThat(snapshot.svids()).extracting(s -> s.spiffeId().toString()).containsExactly(ID);
    assertThat(agent.connections()).isEqualTo(1);
    assertThat(agent.rejectedWithoutHeader()).isZero();
    assertThat(listener.errors).isEmpty();
  }

  @Test
  void everyPushedResponse_becomesASnapshot_onTheSameStream() {
    source.start(listener);
    awaitConnections(1);

    agent.push(response());
    agent.push(response());

    waiting("two snapshots").until(() -> listener.snapshots.size() == 2);
    assertThat(listener.snapshots.get(0).version()).isNotEqualTo(listener.snapshots.get(1).version());
    assertThat(agent.connections()).isEqualTo(1);
  }

  @Test
  void malformedResponse_isReportedNotDelivered_andTheStreamContinues() {
    agent.push(response());
    source.start(listener);
    waiting("the first snapshot").until(() -> listener.snapshots.size() == 1);

    agent.pushOnce(X509SVIDResponse.newBuilder()
        .addSvids(PKI.svid(ID, "").toBuilder().setSpiffeId("spiffe:/broken"))
        .build());

    waiting("the error report").until(() -> listener.errors.size() == 1);
    assertThat(listener.lastError().reason())
        .startsWith("workload-api in-process: the agent sent a response that cannot be used")
        .contains("svids[0].spiffe_id: \"spiffe:/broken\" is not a SPIFFE ID");
    assertThat(listener.lastError().cause()).isInstanceOf(MalformedResponseException.class);
    assertThat(listener.snapshots).hasSize(1);

    agent.push(response());
    waiting("the next good snapshot").until(() -> listener.snapshots.size() == 2);
    assertThat(agent.connections()).isEqualTo(1);
    assertThat(scheduler.pendingTasks()).isZero();
  }

  @Test
  void streamFailure_isReported_andReconnectsAfterTheBackoffDelay() {
    agent.push(response());
    source.start(listener);
    waiting("the first snapshot").until(() -> listener.snapshots.size() == 1);

    agent.closeStreams(Status.UNAVAILABLE.withDescription("agent stopping"));

    Duration delay = awaitRetryScheduled();
    assertWithinEqualJitter(delay, 200);
    assertThat(listener.lastError().reason()).isEqualTo("workload-api in-process: the agent is unreachable: "
        + "UNAVAILABLE (agent stopping); reconnecting in " + delay.toMillis() + " ms");
    assertThat(Status.fromThrowable(listener.lastError().cause()).getCode()).isEqualTo(Status.Code.UNAVAILABLE);

    scheduler.advance(delay.minusNanos(1));
    assertThat(agent.connections()).isEqualTo(1);
    scheduler.advance(Duration.ofNanos(1));
    awaitConnections(2);
    waiting("the snapshot after reconnecting").until(() -> listener.snapshots.size() == 2);
    assertThat(listener.snapshots.get(1).version()).isEqualTo(listener.snapshots.get(0).version());
  }

  @Test
  void streamEndedByTheAgent_reconnects() {
    source.start(listener);
    awaitConnections(1);

    agent.closeStreams(Status.OK);

    Duration delay = awaitRetryScheduled();
    assertThat(listener.lastError().reason()).contains("the agent ended the FetchX509SVID stream");
    scheduler.advance(delay);
    awaitConnections(2);
  }

  @Test
  void permissionDenied_noIdentityIssued_isRetriedUntilTheAgentHasAnEntry() {
    agent.refuseNextConnection(FakeWorkloadApi.NO_IDENTITY);
    agent.push(response());

    source.start(listener);

    Duration delay = awaitRetryScheduled();
    assertThat(listener.lastError().reason()).contains(
        "the agent has no identity for this workload yet: PERMISSION_DENIED (no identity issued)");
    assertThat(listener.snapshots).isEmpty();
    scheduler.advance(delay);
    waiting("the snapshot once the entry exists").until(() -> listener.snapshots.size() == 1);
    assertThat(agent.connections()).isEqualTo(2);
  }

  @Test
  void repeatedFailures_delayGrowsByTwo_isCappedAtTenSeconds_andIsJittered() {
    agent.refuseAllConnections(Status.UNAVAILABLE);
    source.start(listener);

    long base = 200;
    java.util.Set<Duration> cappedDelays = new java.util.HashSet<>();
    for (int attempt = 1; attempt <= 14; attempt++) {
      Duration delay = awaitRetryScheduled();
      assertWithinEqualJitter(delay, base);
      if (base == 10_000) {
        cappedDelays.add(delay);
      }
      scheduler.advance(delay);
      awaitConnections(attempt + 1);
      base = Math.min(10_000, base * 2);
    }
    assertThat(cappedDelays).as("capped delays are still jittered").hasSizeGreaterThan(1);
    assertThat(listener.errors).hasSize(15);
    assertThat(listener.snapshots).isEmpty();
  }

  @Test
  void goodResponse_resetsTheBackoff() {
    agent.refuseAllConnections(Status.UNAVAILABLE);
    source.start(listener);
    for (int attempt = 1; attempt <= 4; attempt++) {
      scheduler.advance(awaitRetryScheduled());
      awaitConnections(attempt + 1);
    }
    Duration grown = awaitRetryScheduled();
    assertWithinEqualJitter(grown, 3200);

    agent.acceptConnections();
    agent.push(response());
    scheduler.advance(grown);
    waiting("a snapshot").until(() -> listener.snapshots.size() == 1);

    agent.closeStreams(Status.UNAVAILABLE);
    assertWithinEqualJitter(awaitRetryScheduled(), 200);
  }

  @Test
  void malformedResponse_doesNotResetTheBackoff() {
    agent.refuseNextConnection(Status.UNAVAILABLE);
    source.start(listener);
    scheduler.advance(awaitRetryScheduled());
    awaitConnections(2);

    agent.pushOnce(X509SVIDResponse.getDefaultInstance()); // no SVIDs: malformed
    waiting("the error report").until(() -> listener.errors.size() == 2);
    agent.closeStreams(Status.UNAVAILABLE);

    assertWithinEqualJitter(awaitRetryScheduled(), 400);
  }

  @Test
  void close_cancelsThePendingReconnect() {
    agent.refuseAllConnections(Status.UNAVAILABLE);
    source.start(listener);
    awaitRetryScheduled();
    int errorsBeforeClose = listener.errors.size();

    source.close();

    waiting("the reconnect timer to be cancelled").until(() -> scheduler.pendingTasks() == 0);
    scheduler.advance(Duration.ofMinutes(5));
    assertThat(agent.connections()).isEqualTo(1);
    assertThat(listener.errors).hasSize(errorsBeforeClose);
    assertThat(channels).allMatch(ManagedChannel::isShutdown);
  }

  @Test
  void close_cancelsTheOpenStream_andDeliversNothingMore() {
    agent.push(response());
    source.start(listener);
    waiting("the first snapshot").until(() -> listener.snapshots.size() == 1);

    source.close();

    waiting("the agent to see the stream cancelled").until(() -> agent.openStreams() == 0);
    agent.push(response());
    assertThat(listener.snapshots).hasSize(1);
    assertThat(listener.errors).isEmpty();
    assertThat(scheduler.pendingTasks()).isZero();
    assertThat(channels).singleElement().matches(ManagedChannel::isShutdown);
  }

  @Test
  void close_isIdempotent_andWorksBeforeStart() {
    source.close();
    source.close();
    assertThat(channels).isEmpty();
  }

  @Test
  void listenerThatThrows_doesNotStopTheStream() {
    RecordingListener recording = new RecordingListener();
    source.start(new dev.rotor.source.IdentityListener() {
      private boolean thrown;

      @Override
      public void onSnapshot(IdentitySnapshot candidate) {
        if (!thrown) {
          thrown = true;
          throw new IllegalStateException("listener bug");
        }
        recording.onSnapshot(candidate);
      }

      @Override
      public void onSourceError(String reason, Throwable cause) {
        recording.onSourceError(reason, cause);
      }
    });
    awaitConnections(1);

    agent.push(response());
    agent.push(response());

    waiting("the second snapshot").until(() -> recording.snapshots.size() == 1);
    assertThat(agent.connections()).isEqualTo(1);
  }

  @Test
  void start_twice_isRejected() {
    source.start(listener);
    assertThatThrownBy(() -> source.start(listener))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("workload-api in-process: start() called twice (a source delivers to one listener)");
  }

  @Test
  void describe_namesTheSource() {
    assertThat(source.describe()).isEqualTo("workload-api in-process");
  }
}
