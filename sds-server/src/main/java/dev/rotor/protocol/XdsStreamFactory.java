package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.MoreExecutors;
import dev.rotor.logging.RateLimitedLog;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens xDS streams for the gRPC services (SDS, ADS, LDS, CDS): each stream gets an id, a
 * serialized executor over the shared pool, and is wired to the store and the event listeners.
 * It also knows which streams are open, so shutdown can end them instead of waiting for them, and
 * applies the {@link StreamLimits} when a stream opens and when a request arrives.
 */
public final class XdsStreamFactory {

  private static final Logger log = LoggerFactory.getLogger(XdsStreamFactory.class);

  private final ResourceStore store;
  private final Executor pool;
  private final XdsEventListener events;
  private final StreamGuard guard;
  private final AtomicLong ids = new AtomicLong();
  private final Set<AbstractXdsStream<?, ?>> open = ConcurrentHashMap.newKeySet();
  /** Streams counted against {@link StreamLimits#maxStreams()}: reserved before one opens, freed when it closes. */
  private final AtomicInteger reserved = new AtomicInteger();
  private final RateLimitedLog refusalLog = RateLimitedLog.perSecond();
  /** Set once by {@link #shutdown}; new streams are refused with it from then on. */
  private volatile Status shutdownStatus;

  /** With the default {@link StreamLimits}. */
  public XdsStreamFactory(ResourceStore store, Executor pool, XdsEventListener events) {
    this(store, pool, events, StreamLimits.DEFAULTS);
  }

  public XdsStreamFactory(ResourceStore store, Executor pool, XdsEventListener events, StreamLimits limits) {
    this.store = requireNonNull(store, "store");
    this.pool = requireNonNull(pool, "pool");
    this.events = requireNonNull(events, "events");
    this.guard = new StreamGuard(limits);
  }

  public ResourceStore store() {
    return store;
  }

  public StreamObserver<DiscoveryRequest> openSotw(StreamInfo.Kind kind, StreamOptions options,
      StreamObserver<DiscoveryResponse> responses, Caller caller) {
    if (refuseWhenShutDown(responses) || refuseOverLimit(responses, caller.describe())) {
      return ignoring();
    }
    StreamInfo info = new StreamInfo(ids.incrementAndGet(), kind, caller);
    SotwStream s = new SotwStream(info, options, (ServerCallStreamObserver<DiscoveryResponse>) responses, store,
        MoreExecutors.newSequentialExecutor(pool), events, guard);
    track(s);
    return s;
  }

  public StreamObserver<DeltaDiscoveryRequest> openDelta(StreamInfo.Kind kind, StreamOptions options,
      StreamObserver<DeltaDiscoveryResponse> responses, Caller caller) {
    if (refuseWhenShutDown(responses) || refuseOverLimit(responses, caller.describe())) {
      return ignoring();
    }
    StreamInfo info = new StreamInfo(ids.incrementAndGet(), kind, caller);
    DeltaStream s = new DeltaStream(info, options, (ServerCallStreamObserver<DeltaDiscoveryResponse>) responses,
        store, MoreExecutors.newSequentialExecutor(pool), events, guard);
    track(s);
    return s;
  }

  /**
   * For a call that is not a stream (FetchSecrets): refuses {@code caller} presenting itself as
   * {@code node} when the state says it may not, as a stream would be refused.
   *
   * @throws io.grpc.StatusRuntimeException the refusal
   */
  public void checkNode(Caller caller, Node node) {
    Optional<Status> refusal = store.current().nodeRefusal(node, caller);
    if (refusal.isPresent()) {
      events.callerRefused(caller, Caller.REFUSED_NODE_ID, node.getId());
      throw refusal.get().asRuntimeException();
    }
  }

  /**
   * Ends, with UNAUTHENTICATED, every open stream whose caller no longer holds what admitted it (a
   * TCP peer whose certificate expired or whose CA left the bundle: {@link Caller#recheck()}). Run
   * when the served identity changes and periodically; resumed TLS sessions and long-lived streams
   * must not outlive the credentials they were opened with. Returns how many it ended.
   */
  public int endLapsedStreams() {
    int ended = 0;
    for (AbstractXdsStream<?, ?> s : open) {
      Optional<String> lapsed = s.info.caller().recheck();
      if (lapsed.isPresent()) {
        log.atWarn().addKeyValue("stream", s.info.id()).addKeyValue("peer", s.info.peer())
            .addKeyValue("reason", lapsed.get()).log("ending xDS stream: the caller's credentials no longer hold");
        events.callerRefused(s.info.caller(), Caller.REFUSED_CREDENTIALS_LAPSED, s.info.nodeId());
        s.terminate(Caller.LAPSED);
        ended++;
      }
    }
    return ended;
  }

  /** Streams open now. */
  public int openStreams() {
    return open.size();
  }

  /** Stream-refusal log lines not written because of their rate limit, since start. */
  public long suppressedLogLines() {
    return refusalLog.suppressed();
  }

  /**
   * Streams and requests refused by the {@link StreamLimits} since start, by reason in lower case
   * ({@code stream_limit}, {@code node_too_large}, {@code subscription_limit}), for metrics.
   */
  public Map<String, Long> refusals() {
    Map<String, Long> m = new TreeMap<>();
    guard.refusals().forEach((r, n) -> m.put(r.name().toLowerCase(Locale.ROOT), n));
    return m;
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
    s.onClose(() -> {
      open.remove(s);
      reserved.decrementAndGet();
    });
    s.start();
    Status st = shutdownStatus;
    if (st != null) {
      s.terminate(st); // shutdown() ran while this stream was being opened and may have missed it
    }
  }

  /**
   * Reserves a place for a new stream, or refuses it with RESOURCE_EXHAUSTED: at the stream's
   * open, so a push to thousands of streams never checks anything.
   */
  private boolean refuseOverLimit(StreamObserver<?> responses, String peer) {
    int max = guard.limits().maxStreams();
    if (reserved.incrementAndGet() <= max) {
      return false;
    }
    reserved.decrementAndGet();
    guard.count(StreamGuard.Refusal.STREAM_LIMIT);
    long skipped = refusalLog.acquire();
    if (skipped >= 0) {
      log.atWarn().addKeyValue("peer", peer).addKeyValue("limit", max).addKeyValue("suppressed_since_last", skipped)
          .log("refused an xDS stream: {} streams are open, the limit (--max-streams)", max);
    }
    responses.onError(Status.RESOURCE_EXHAUSTED
        .withDescription("too many xDS streams open on this Rotor (limit " + max + ", --max-streams)")
        .asRuntimeException());
    return true;
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
