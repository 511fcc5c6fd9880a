package dev.rotor.sds.conformance;

import dev.rotor.protocol.Caller;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.protocol.ResourceStore;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.protocol.XdsStreamFactory;
import dev.rotor.pushlog.PushLog;
import dev.rotor.sds.SecretDiscoveryService;
import dev.rotor.sds.SecretState;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.SecretNaming;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The real SDS service on an in-process gRPC server: a real {@link ResourceStore}, a real {@link
 * XdsStreamFactory} over a real thread pool (so streams run concurrently, as in production), the
 * push log, and a recorder of protocol events. Tests publish identities and talk to it with {@link
 * SdsTestPeer}s.
 */
final class SdsHarness implements AutoCloseable {

  final RecordingEvents events = new RecordingEvents();
  final ResourceStore store = new ResourceStore(SecretState.initial(false));

  private final ExecutorService pool = Executors.newFixedThreadPool(4);
  private final AtomicLong generations = new AtomicLong();
  private final List<SdsTestPeer<?, ?>> peers = new ArrayList<>();
  private final Server server;
  private final ManagedChannel channel;

  SdsHarness() {
    XdsStreamFactory streams = new XdsStreamFactory(store, pool,
        // The push log first: once the recorder has seen an event, its log line is written.
        XdsEventListener.all(List.of(new PushLog(), events)));
    String name = InProcessServerBuilder.generateName();
    try {
      server = InProcessServerBuilder.forName(name).directExecutor()
          .addService(new SecretDiscoveryService(streams, () -> new Caller.PodLocal("in-process test peer")))
          .build()
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  /** Builds the catalog of {@code snapshot} with SPIRE's names and serves it. */
  SecretCatalog publish(IdentitySnapshot snapshot) {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);
    publish(catalog);
    return catalog;
  }

  void publish(SecretCatalog catalog) {
    store.publish(new SecretState(generations.incrementAndGet(), System.nanoTime(), catalog, false));
  }

  SdsTestPeer<DiscoveryRequest, DiscoveryResponse> sotw() {
    return track(SdsTestPeer.sotw(channel));
  }

  SdsTestPeer<DiscoveryRequest, DiscoveryResponse> slowReader() {
    return track(SdsTestPeer.slowReader(channel));
  }

  SdsTestPeer<DeltaDiscoveryRequest, DeltaDiscoveryResponse> delta() {
    return track(SdsTestPeer.delta(channel));
  }

  SecretDiscoveryServiceGrpc.SecretDiscoveryServiceBlockingStub fetch() {
    return SecretDiscoveryServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(SdsTestPeer.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  private <P extends SdsTestPeer<?, ?>> P track(P peer) {
    synchronized (peers) {
      peers.add(peer);
    }
    return peer;
  }

  @Override
  public void close() throws InterruptedException {
    synchronized (peers) {
      peers.forEach(SdsTestPeer::close);
    }
    channel.shutdownNow();
    server.shutdownNow();
    pool.shutdown();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.awaitTermination(5, TimeUnit.SECONDS);
    if (!pool.awaitTermination(5, TimeUnit.SECONDS)) {
      throw new AssertionError("stream executors did not finish within 5 s");
    }
  }
}
