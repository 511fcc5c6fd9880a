package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.MoreExecutors;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Opens xDS streams for the gRPC services (SDS, ADS, LDS, CDS): each stream gets an id, a
 * serialized executor over the shared pool, and is wired to the store and the event listeners.
 * It also knows which streams are open, so shutdown can end them instead of waiting for them.
 */
public final class XdsStreamFactory {

  private final ResourceStore store;
  private final Executor pool;
  private final XdsEventListener events;
  private final AtomicLong ids = new AtomicLong();
  private final Set<AbstractXdsStream<?, ?>> open = ConcurrentHashMap.newKeySet();
  /** Set once by {@link #shutdown}; new streams are refused with it from then on. */
  private volatile Status shutdownStatus;

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
    if (refuseWhenShutDown(responses)) {
      return ignoring();
    }
    StreamInfo info = new StreamInfo(ids.incrementAndGet(), kind, peer);
    SotwStream s = new SotwStream(info, options, (ServerCallStreamObserver<DiscoveryResponse>) responses, store,
        MoreExecutors.newSequentialExecutor(pool), events);
    track(s);
    return s;
  }

  public StreamObserver<DeltaDiscoveryRequest> openDelta(StreamInfo.Kind kind, StreamOptions options,
      StreamObserver<DeltaDiscoveryResponse> responses, String peer) {
    if (refuseWhenShutDown(responses)) {
      return ignoring();
    }
    StreamInfo info = new StreamInfo(ids.incrementAndGet(), kind, peer);
    DeltaStream s = new DeltaStream(info, options, (ServerCallStreamObserver<DeltaDiscoveryResponse>) responses,
        store, MoreExecutors.newSequentialExecutor(pool), events);
    track(s);
    return s;
  }

  /** Streams open now. */
  public int openStreams() {
    return open.size();
  }

  /**
   * Ends every open stream with {@code status} and refuses new ones with it. Used at shutdown with
   * UNAVAILABLE: a gRPC server's own shutdown waits for calls to finish, and an xDS stream never
   * finishes by itself, so without this every shutdown would sit out the whole grace period and
   * then cancel the streams anyway. Envoy treats UNAVAILABLE as "reconnect", which is what it
   * should do. Returns without waiting; the streams end on their own executors.
   */
  public void shutdown(Status status) {
    shutdownStatus = requireNonNull(status, "status");
    for (AbstractXdsStream<?, ?> s : open) {
      s.terminate(status);
    }
  }

  private void track(AbstractXdsStream<?, ?> s) {
    open.add(s);
    s.onClose(() -> open.remove(s));
    s.start();
    Status st = shutdownStatus;
    if (st != null) {
      s.terminate(st); // shutdown() ran while this stream was being opened and may have missed it
    }
  }

  private boolean refuseWhenShutDown(StreamObserver<?> responses) {
    Status st = shutdownStatus;
    if (st == null) {
      return false;
    }
    responses.onError(st.asRuntimeException());
    return true;
  }

  private static <T> StreamObserver<T> ignoring() {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }
}
