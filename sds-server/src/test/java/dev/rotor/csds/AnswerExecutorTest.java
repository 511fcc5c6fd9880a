package dev.rotor.csds;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.protocol.Caller;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.status.StreamStatus;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.status.v3.ClientStatusDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.status.v3.ClientStatusRequest;
import io.envoyproxy.envoy.service.status.v3.ClientStatusResponse;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.time.Instant;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, finding 7: CSDS work is bounded. It runs on a small pool whose queue refuses rather
 * than grows, within a time budget, and stops at the next stream once its call is cancelled.
 */
class AnswerExecutorTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  private final ExecutorService pool = Executors.newSingleThreadExecutor();
  private final AtomicLong nanos = new AtomicLong();
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
    pool.shutdownNow();
  }

  @Test
  void cancelledCall_stopsItsAnswerAtTheNextStream() throws Exception {
    Streams streams = new Streams(100_000, 10);
    ClientStatusDiscoveryServiceGrpc.ClientStatusDiscoveryServiceStub stub = serve(streams);
    CompletableFuture<Status> ended = new CompletableFuture<>();
    AtomicReference<ClientCallStreamObserver<?>> call = new AtomicReference<>();
    stub.fetchClientStatus(ClientStatusRequest.getDefaultInstance(), new ClientResponseObserver<ClientStatusRequest,
        ClientStatusResponse>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<ClientStatusRequest> requestStream) {
        call.set(requestStream);
      }

      @Override
      public void onNext(ClientStatusResponse value) {}

      @Override
      public void onError(Throwable t) {
        ended.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        ended.complete(Status.OK);
      }
    });
    assertThat(streams.reachedPause.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the answer reached stream 10").isTrue();

    call.get().cancel("the operator gave up", null);
    streams.resume.countDown();
    pool.shutdown();

    assertThat(pool.awaitTermination(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the CSDS pool went idle").isTrue();
    assertThat(ended.get(WAIT.toSeconds(), TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(streams.examined.get()).as("streams examined of 100,000").isLessThanOrEqualTo(12);
  }

  @Test
  void answerPastItsBudget_endsWithDeadlineExceeded() {
    AnswerExecutor answers = new AnswerExecutor(pool, Duration.ofSeconds(5), nanos::get);
    CompletableFuture<StatusRuntimeException> failed = new CompletableFuture<>();
    AtomicInteger steps = new AtomicInteger();

    answers.submit(Context.ROOT, checkpoint -> {
      for (int i = 0; i < 100; i++) {
        checkpoint.check();
        steps.incrementAndGet();
        nanos.addAndGet(Duration.ofSeconds(1).toNanos());
      }
    }, failed::complete);

    assertThat(failed.join().getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(steps).as("steps taken within the 5 s budget, one second each").hasValue(5);
  }

  @Test
  void fullPoolAndQueue_refuseAtOnce() throws Exception {
    AnswerExecutor answers = AnswerExecutor.bounded();
    cleanup.add(answers);
    CountDownLatch release = new CountDownLatch(1);
    List<StatusRuntimeException> refused = new ArrayList<>();
    int capacity = AnswerExecutor.THREADS + AnswerExecutor.QUEUE;
    for (int i = 0; i < capacity; i++) {
      answers.submit(Context.ROOT, checkpoint -> await(release), e -> {});
    }

    answers.submit(Context.ROOT, checkpoint -> {}, refused::add);
    release.countDown();

    assertThat(refused).singleElement().satisfies(e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(e.getStatus().getDescription()).startsWith("too many CSDS requests in progress");
    });
  }

  private ClientStatusDiscoveryServiceGrpc.ClientStatusDiscoveryServiceStub serve(Streams streams) throws Exception {
    ClientStatusService csds = new ClientStatusService(() -> streams, () -> new Caller.PodLocal("uid=1"),
        new AnswerExecutor(pool, Duration.ofMinutes(1), System::nanoTime));
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor().addService(csds).build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    cleanup.add(() -> {
      channel.shutdownNow();
      server.shutdownNow();
    });
    return ClientStatusDiscoveryServiceGrpc.newStub(channel);
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** {@code size} streams; reading the one at {@code pauseAt} waits for the test; counts what was read. */
  private static final class Streams extends AbstractList<StreamStatus> {
    final CountDownLatch reachedPause = new CountDownLatch(1);
    final CountDownLatch resume = new CountDownLatch(1);
    final AtomicInteger examined = new AtomicInteger();
    private final int size;
    private final int pauseAt;

    Streams(int size, int pauseAt) {
      this.size = size;
      this.pauseAt = pauseAt;
    }

    @Override
    public StreamStatus get(int i) {
      examined.incrementAndGet();
      if (i == pauseAt) {
        reachedPause.countDown();
        await(resume);
      }
      return new StreamStatus(i, StreamInfo.Kind.SDS_SOTW, new Caller.PodLocal("uid=1"),
          Node.newBuilder().setId("envoy-" + i).build(), Instant.EPOCH, Map.of());
    }

    @Override
    public int size() {
      return size;
    }
  }
}
