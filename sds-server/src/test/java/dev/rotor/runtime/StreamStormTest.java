package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A storm of 2,000 SDS streams against the real {@code rotor serve} runtime over its Unix socket:
 * streams that are cancelled at once or after their first response, half-closed, failed by
 * hostile input, or cut with their whole connection. Afterwards no stream is left listening to
 * the store or listed in the status registry, and no thread Rotor owns is left over.
 */
class StreamStormTest {

  private static final int STREAMS = 2_000;
  private static final int CONNECTIONS = 20;
  private static final Duration STORM_TIMEOUT = Duration.ofSeconds(60);
  /**
   * gRPC's default executor, which runs server calls, is a cached pool: it grows with concurrent
   * callbacks and retires idle threads after 60 s. Its size after a storm is bounded by the
   * storm's concurrency, not its length, so it is checked against a cap instead of the baseline.
   */
  private static final String GRPC_DEFAULT_EXECUTOR = "grpc-default-executor-";
  private static final int GRPC_EXECUTOR_CAP = 64;

  private final UdsRuntime rotor = new UdsRuntime();

  @AfterEach
  void stop() throws Exception {
    rotor.close();
  }

  @Test
  void twoThousandStreamsConnectingAndDisconnecting_leaveNoStreamAndNoThreadBehind() throws Exception {
    List<ManagedChannel> connections = new ArrayList<>();
    for (int i = 0; i < CONNECTIONS; i++) {
      connections.add(rotor.channel());
    }
    // Warm-up: Rotor's pools and event loops start their threads lazily.
    storm(connections, 200);
    awaitNoStreamListening();
    Map<String, Integer> baseline = threadsByPool();

    storm(connections, STREAMS);
    // And connections that vanish with their streams open, as a crashed Envoy's do.
    List<Probe> orphans = new ArrayList<>();
    for (int c = 0; c < 5; c++) {
      ManagedChannel doomed = rotor.channel();
      for (int i = 0; i < 20; i++) {
        orphans.add(open(doomed, Ending.NONE, i));
      }
      for (Probe p : orphans.subList(orphans.size() - 20, orphans.size())) {
        p.awaitFirstResponse();
      }
      doomed.shutdownNow();
    }

    awaitNoStreamListening();
    Map<String, Integer> after = threadsByPool();
    for (Map.Entry<String, Integer> pool : after.entrySet()) {
      int before = baseline.getOrDefault(pool.getKey(), 0);
      if (pool.getKey().equals(GRPC_DEFAULT_EXECUTOR)) {
        assertThat(pool.getValue()).as("threads of gRPC's default executor after the storm").isLessThanOrEqualTo(
            GRPC_EXECUTOR_CAP);
      } else if (pool.getKey().startsWith("rotor-")) {
        assertThat(pool.getValue()).as("Rotor's threads named %s* (before the storm: %d; all: %s -> %s)",
            pool.getKey(), before, baseline, after).isLessThanOrEqualTo(before);
      }
    }
    // Everything else in this JVM (test framework, other tests' leftovers) may come and go a little.
    int total = after.values().stream().mapToInt(Integer::intValue).sum()
        - after.getOrDefault(GRPC_DEFAULT_EXECUTOR, 0);
    int totalBefore = baseline.values().stream().mapToInt(Integer::intValue).sum()
        - baseline.getOrDefault(GRPC_DEFAULT_EXECUTOR, 0);
    assertThat(total).as("live threads besides gRPC's default executor (before: %s, after: %s)", baseline, after)
        .isLessThanOrEqualTo(totalBefore + 4);
    // And Rotor still serves.
    Probe last = open(connections.get(0), Ending.CANCEL_AFTER_RESPONSE, 0);
    last.awaitEnd();
    assertThat(last.responses).isEqualTo(1);
  }

  /** How each stream of the storm ends. */
  private enum Ending {
    CANCEL_AT_ONCE, CANCEL_AFTER_RESPONSE, HALF_CLOSE_AFTER_RESPONSE, HOSTILE, NONE
  }

  private void storm(List<ManagedChannel> connections, int streams) throws InterruptedException {
    List<Probe> probes = new ArrayList<>(streams);
    Ending[] endings = {Ending.CANCEL_AT_ONCE, Ending.CANCEL_AFTER_RESPONSE, Ending.HALF_CLOSE_AFTER_RESPONSE,
        Ending.HOSTILE};
    for (int i = 0; i < streams; i++) {
      probes.add(open(connections.get(i % connections.size()), endings[i % endings.length], i));
    }
    for (Probe p : probes) {
      p.awaitEnd();
    }
  }

  private void awaitNoStreamListening() {
    await("every stream to stop listening to the store and leave the status registry")
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> {
          assertThat(rotor.store().listenerCount()).as("store listeners").isZero();
          assertThat(rotor.registeredStreams()).as("streams in the status registry").isZero();
        });
  }

  private Probe open(ManagedChannel channel, Ending ending, int i) {
    Probe probe = new Probe(ending);
    var requests = SecretDiscoveryServiceGrpc.newStub(channel).streamSecrets(probe);
    String name = ending == Ending.HOSTILE ? "spiffe://example.org/" + "x".repeat(10_000) : "default";
    synchronized (probe) {
      requests.onNext(DiscoveryRequest.newBuilder()
          .setNode(Node.newBuilder().setId("storm-" + i))
          .setTypeUrl(TypeUrls.SECRET)
          .addResourceNames(name)
          .build());
      if (ending == Ending.CANCEL_AT_ONCE) {
        probe.call.cancel("storm: cancel at once", null);
      }
    }
    return probe;
  }

  /** One storm stream: counts responses, ends itself as told, and records that it ended. */
  private static final class Probe implements ClientResponseObserver<DiscoveryRequest, DiscoveryResponse> {
    private final Ending ending;
    private final CountDownLatch firstResponse = new CountDownLatch(1);
    private final CountDownLatch ended = new CountDownLatch(1);
    private ClientCallStreamObserver<DiscoveryRequest> call;
    private volatile int responses;

    Probe(Ending ending) {
      this.ending = ending;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
      call = requestStream;
    }

    @Override
    public void onNext(DiscoveryResponse value) {
      responses++;
      firstResponse.countDown();
      synchronized (this) {
        if (ending == Ending.CANCEL_AFTER_RESPONSE) {
          call.cancel("storm: cancel after the first response", null);
        } else if (ending == Ending.HALF_CLOSE_AFTER_RESPONSE) {
          call.onCompleted();
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      ended.countDown();
    }

    @Override
    public void onCompleted() {
      ended.countDown();
    }

    void awaitFirstResponse() throws InterruptedException {
      assertThat(firstResponse.await(STORM_TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("a first response").isTrue();
    }

    void awaitEnd() throws InterruptedException {
      assertThat(ended.await(STORM_TIMEOUT.toSeconds(), TimeUnit.SECONDS))
          .as("a %s stream to end (responses: %d)", ending, responses).isTrue();
    }
  }

  /** Live threads by pool: names with their trailing counter removed. */
  private static Map<String, Integer> threadsByPool() {
    Map<String, Integer> pools = new TreeMap<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive()) {
        pools.merge(t.getName().replaceAll("\\d+$", ""), 1, Integer::sum);
      }
    }
    return pools;
  }
}
