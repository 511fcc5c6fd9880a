package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Absurd subscriptions over the real Unix socket, measured in heap after full collections
 * (tolerances are generous: the point is "nothing kept" and "in proportion", not bytes):
 * 1,000 streams refused for 10,001 names each leave nothing behind; streams holding 10,000
 * unknown names each hold memory in proportion to them, and give it all back when they end.
 */
class HostileLoadMemoryTest {

  private static final int REFUSED_STREAMS = 1_000;
  private static final int HELD_STREAMS = 100;
  private static final int NAMES = 10_000;
  private static final long NOTHING_KEPT = 24L << 20;
  /** A name of ~35 characters held in a stream's subscription and "reported unknown" sets. */
  private static final long MAX_BYTES_PER_HELD_NAME = 1_024;
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  private final UdsRuntime rotor = new UdsRuntime();

  @AfterEach
  void stop() throws Exception {
    rotor.close();
  }

  @Test
  void thousandStreamsRefusedForTenThousandAndOneNamesEach_leaveTheHeapAsItWas() throws Exception {
    DiscoveryRequest absurd = subscribe(NAMES + 1, "refused");
    List<ManagedChannel> connections = connections(10);
    expectRefused(connections, absurd, 50); // warm-up: pools, buffers, code paths
    long before = UdsRuntime.usedHeapAfterGc();

    expectRefused(connections, absurd, REFUSED_STREAMS);

    awaitNoStreamListening();
    long grown = UdsRuntime.usedHeapAfterGc() - before;
    System.out.printf("%d streams x %d names refused (%d KB each on the wire): heap after GC %+d KB%n",
        REFUSED_STREAMS, NAMES + 1, absurd.getSerializedSize() / 1024, grown / 1024);
    assertThat(grown).as("heap growth after %d refused streams, bytes", REFUSED_STREAMS).isLessThan(NOTHING_KEPT);
  }

  @Test
  void streamsHoldingTenThousandUnknownNamesEach_holdMemoryInProportionAndReturnIt() throws Exception {
    List<ManagedChannel> connections = connections(10);
    long before = UdsRuntime.usedHeapAfterGc();
    List<StreamWatcher> held = new ArrayList<>();
    for (int i = 0; i < HELD_STREAMS; i++) {
      // Each stream its own names, as distinct strings on the server too.
      DiscoveryRequest names = subscribe(NAMES - 1, "held-" + i).toBuilder().addResourceNames("default").build();
      held.add(open(connections.get(i % connections.size()), names));
    }
    // All names but default are unknown: the stream answers default and waits for the rest (rule 14).
    await("each held stream to answer default, having taken in its names").atMost(TIMEOUT)
        .until(() -> held.stream().allMatch(w -> w.responses == 1));
    assertThat(held).noneMatch(w -> w.ended.isDone());
    long holding = UdsRuntime.usedHeapAfterGc() - before;

    held.forEach(w -> w.call.cancel("test over", null));
    awaitNoStreamListening();
    long after = UdsRuntime.usedHeapAfterGc() - before;

    long perName = holding / ((long) HELD_STREAMS * NAMES);
    System.out.printf("%d streams x %d unknown names held: heap %+d KB (%d bytes per name); after they ended %+d KB%n",
        HELD_STREAMS, NAMES, holding / 1024, perName, after / 1024);
    assertThat(perName).as("heap per held name, bytes").isLessThan(MAX_BYTES_PER_HELD_NAME);
    assertThat(after).as("heap growth once the streams ended, bytes").isLessThan(NOTHING_KEPT);
  }

  private void expectRefused(List<ManagedChannel> connections, DiscoveryRequest request, int streams)
      throws Exception {
    // In waves of 100, so the client never holds more than 100 serialized copies at once.
    for (int wave = 0; wave < streams; wave += 100) {
      List<StreamWatcher> watchers = new ArrayList<>();
      for (int i = wave; i < Math.min(streams, wave + 100); i++) {
        watchers.add(open(connections.get(i % connections.size()), request));
      }
      for (StreamWatcher w : watchers) {
        Status status = w.ended.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        assertThat(status.getCode()).as(String.valueOf(status)).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(w.responses).isZero();
      }
    }
  }

  private List<ManagedChannel> connections(int n) {
    List<ManagedChannel> channels = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      channels.add(rotor.channel());
    }
    return channels;
  }

  private void awaitNoStreamListening() {
    await("every stream to stop listening to the store").atMost(Duration.ofSeconds(10))
        .until(() -> rotor.store().listenerCount() == 0);
  }

  private static DiscoveryRequest subscribe(int names, String prefix) {
    DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder()
        .setNode(Node.newBuilder().setId("hostile"))
        .setTypeUrl(TypeUrls.SECRET);
    for (int i = 0; i < names; i++) {
      b.addResourceNames("spiffe://example.org/" + prefix + "/" + i);
    }
    return b.build();
  }

  private static StreamWatcher open(ManagedChannel channel, DiscoveryRequest request) {
    StreamWatcher w = new StreamWatcher();
    var requests = SecretDiscoveryServiceGrpc.newStub(channel).streamSecrets(w);
    requests.onNext(request);
    return w;
  }
}
