package dev.rotor.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.sds.SecretDiscoveryService;
import dev.rotor.sds.SecretState;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Shutdown ends open streams with the given status at once, and refuses new ones. */
class XdsStreamFactoryShutdownTest {

  private final ExecutorService pool = Executors.newFixedThreadPool(2);
  private final XdsStreamFactory factory =
      new XdsStreamFactory(new ResourceStore(SecretState.initial(false)), pool, new XdsEventListener() {});
  private Server server;
  private ManagedChannel channel;

  @AfterEach
  void tearDown() throws Exception {
    channel.shutdownNow();
    server.shutdownNow();
    pool.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  private CompletableFuture<Status> open() {
    CompletableFuture<Status> ended = new CompletableFuture<>();
    StreamObserver<DiscoveryRequest> req = SecretDiscoveryServiceGrpc.newStub(channel).streamSecrets(
        new StreamObserver<DiscoveryResponse>() {
          @Override
          public void onNext(DiscoveryResponse value) {}

          @Override
          public void onError(Throwable t) {
            ended.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            ended.complete(Status.OK);
          }
        });
    req.onNext(DiscoveryRequest.newBuilder().addResourceNames("default").build());
    return ended;
  }

  @Test
  void shutdown_endsOpenStreamsWithUnavailable_andRefusesNewOnes() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new SecretDiscoveryService(factory, () -> new Caller.PodLocal("test"))).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    CompletableFuture<Status> first = open();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (factory.openStreams() == 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(factory.openStreams()).isEqualTo(1);

    factory.shutdown(Status.UNAVAILABLE.withDescription("Rotor is shutting down"));
    assertThat(first.get(5, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(open().get(5, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    // Streams unregister on their own executor, which may run just after the client saw the error.
    long closedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (factory.openStreams() != 0 && System.nanoTime() < closedBy) {
      Thread.onSpinWait();
    }
    assertThat(factory.openStreams()).as("open streams 5 s after shutdown").isZero();
  }
}
