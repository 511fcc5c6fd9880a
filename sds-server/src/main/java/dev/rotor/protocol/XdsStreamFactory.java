package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.MoreExecutors;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Opens xDS streams for the gRPC services (SDS, ADS, LDS, CDS): each stream gets an id, a
 * serialized executor over the shared pool, and is wired to the store and the event listeners.
 */
public final class XdsStreamFactory {

  private final ResourceStore store;
  private final Executor pool;
  private final XdsEventListener events;
  private final AtomicLong ids = new AtomicLong();

  public XdsStreamFactory(ResourceStore store, Executor pool, XdsEventListener events) {
    this.store = requireNonNull(store, "store");
    this.pool = requireNonNull(pool, "pool");
    this.events = requireNonNull(events, "events");
  }

  public ResourceStore store() {
    return store;
  }

  public StreamObserver<DiscoveryRequest> openSotw(StreamInfo.Kind kind, StreamOptions options,
      StreamObserver<DiscoveryResponse> responses, String peer) {
    StreamInfo info = new StreamInfo(ids.incrementAndGet(), kind, peer);
    SotwStream s = new SotwStream(info, options, (ServerCallStreamObserver<DiscoveryResponse>) responses, store,
        MoreExecutors.newSequentialExecutor(pool), events);
    s.start();
    return s;
  }

  public StreamObserver<DeltaDiscoveryRequest> openDelta(StreamInfo.Kind kind, StreamOptions options,
      StreamObserver<DeltaDiscoveryResponse> responses, String peer) {
    StreamInfo info = new StreamInfo(ids.incrementAndGet(), kind, peer);
    DeltaStream s = new DeltaStream(info, options, (ServerCallStreamObserver<DeltaDiscoveryResponse>) responses,
        store, MoreExecutors.newSequentialExecutor(pool), events);
    s.start();
    return s;
  }
}
