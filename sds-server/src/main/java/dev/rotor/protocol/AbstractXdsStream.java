package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The life of one xDS stream: one serialized executor owns all of its state (requests, store
 * changes and flow-control callbacks are all funnelled onto it), and responses are computed
 * against the newest store state only when the transport is ready, so a slow reader costs one
 * pending flag, never a queue.
 */
abstract class AbstractXdsStream<ReqT, RespT> implements StreamObserver<ReqT>, ResourceStore.Listener {

  private static final Logger log = LoggerFactory.getLogger(AbstractXdsStream.class);

  protected final StreamInfo info;
  protected final StreamOptions options;
  protected final XdsEventListener events;
  protected final StreamGuard guard;
  private final ServerCallStreamObserver<RespT> out;
  private final ResourceStore store;
  private final Executor serial;
  private final AtomicBoolean flushQueued = new AtomicBoolean();

  // Guarded by the serial executor.
  private boolean closed;
  private boolean sawRequest;
  private boolean pendingByUpdate;
  private Runnable closeHook = () -> {};

  AbstractXdsStream(StreamInfo info, StreamOptions options, ServerCallStreamObserver<RespT> out,
      ResourceStore store, Executor serial, XdsEventListener events, StreamGuard guard) {
    this.guard = requireNonNull(guard, "guard");
    this.info = requireNonNull(info, "info");
    this.options = requireNonNull(options, "options");
    this.out = requireNonNull(out, "out");
    this.store = requireNonNull(store, "store");
    this.serial = requireNonNull(serial, "serial");
    this.events = requireNonNull(events, "events");
  }

  /** Runs once when the stream closes, however it closes (the factory forgets it). Call before start(). */
  final void onClose(Runnable hook) {
    this.closeHook = requireNonNull(hook, "hook");
  }

  /**
   * Ends the stream from the server's side with {@code status}, e.g. UNAVAILABLE at shutdown so
   * Envoy reconnects at once instead of waiting on a stream that will never answer again. Safe from
   * any thread; a stream already closed stays as it is.
   */
  final void terminate(Status status) {
    serial.execute(() -> fail(status));
  }

  /** Must be called from the gRPC service method, before it returns. */
  final void start() {
    out.setOnReadyHandler(() -> scheduleFlush(true));
    out.setOnCancelHandler(() -> serial.execute(this::close));
    store.addListener(this);
    serial.execute(() -> events.streamOpened(info));
  }

  /** Applies one request to the stream's state. Runs on the serial executor. */
  abstract void handleRequest(ReqT request) throws StatusRuntimeException;

  /**
   * Computes what must be sent now against {@code state} and returns the responses (possibly none).
   * Runs on the serial executor; the caller sends them and reports them.
   */
  abstract List<RespT> computeResponses(XdsState state, boolean byUpdate);

  @Override
  public final void onNext(ReqT request) {
    serial.execute(() -> {
      if (closed) {
        return;
      }
      try {
        sawRequest = true;
        handleRequest(request);
        flush(false);
      } catch (StatusRuntimeException e) {
        fail(e.getStatus());
      } catch (RuntimeException e) {
        log.atError().setCause(e).addKeyValue("stream", info.id()).log("xDS stream failed; closing it");
        fail(Status.INTERNAL.withDescription("internal error"));
      }
    });
  }

  @Override
  public final void stateChanged() {
    scheduleFlush(true);
  }

  private void scheduleFlush(boolean byUpdate) {
    if (flushQueued.compareAndSet(false, true)) {
      serial.execute(() -> {
        flushQueued.set(false);
        if (!closed && sawRequest) {
          try {
            flush(byUpdate);
          } catch (RuntimeException e) {
            log.atError().setCause(e).addKeyValue("stream", info.id()).log("xDS push failed; closing the stream");
            fail(Status.INTERNAL.withDescription("internal error"));
          }
        }
      });
    }
  }

  private void flush(boolean byUpdate) {
    if (closed) {
      return;
    }
    if (!out.isReady()) {
      // Flow control: remember that something may be due and compute it when the transport is
      // ready again, against whatever the newest state is then.
      pendingByUpdate |= byUpdate;
      return;
    }
    boolean cause = byUpdate || pendingByUpdate;
    pendingByUpdate = false;
    for (RespT response : computeResponses(store.current(), cause)) {
      out.onNext(response);
    }
  }

  @Override
  public final void onError(Throwable t) {
    serial.execute(this::close);
  }

  @Override
  public final void onCompleted() {
    serial.execute(() -> {
      if (!closed) {
        out.onCompleted();
        close();
      }
    });
  }

  private void fail(Status status) {
    if (closed) {
      return;
    }
    try {
      out.onError(status.asRuntimeException());
    } catch (RuntimeException ignored) {
      // the call is already gone
    }
    close();
  }

  private void close() {
    if (closed) {
      return;
    }
    closed = true;
    store.removeListener(this);
    closeHook.run();
    events.streamClosed(info);
  }

  /** Checks a request's type and names against the stream's limits; returns the effective type. */
  final String checkRequest(String typeUrl, List<String> names, List<String> moreNames) {
    String type = typeUrl.isEmpty() ? options.defaultTypeUrl() : typeUrl;
    if (type.isEmpty()) {
      throw Status.INVALID_ARGUMENT
          .withDescription("type_url: empty (expected: the resource type of this request; required on ADS)")
          .asRuntimeException();
    }
    if (!options.typeUrls().contains(type)) {
      throw Status.INVALID_ARGUMENT
          .withDescription("type_url: " + abbreviate(type) + " is not served here (expected: one of " + options.typeUrls() + ")")
          .asRuntimeException();
    }
    if (names.size() + moreNames.size() > options.maxResourceNames()) {
      throw Status.INVALID_ARGUMENT
          .withDescription("resource_names: " + (names.size() + moreNames.size()) + " names (expected: at most "
              + options.maxResourceNames() + ")")
          .asRuntimeException();
    }
    checkLengths(names);
    checkLengths(moreNames);
    return type;
  }

  private void checkLengths(List<String> names) {
    for (String n : names) {
      if (n.length() > options.maxNameLength()) {
        throw Status.INVALID_ARGUMENT
            .withDescription("resource name of " + n.length() + " characters (expected: at most " + options.maxNameLength() + ")")
            .asRuntimeException();
      }
    }
  }

  /** Computes one type's response (or null) in one pass of {@link #inPushOrder}. */
  @FunctionalInterface
  interface TypePass<T, R> {
    R compute(T typeState, boolean keepStale);
  }

  /**
   * Runs {@code pass} over the stream's types in push order, twice (rule 22, make before break):
   * first every type but the last keeps what it would delete, then those types send their
   * deletions once the later types (listeners, after clusters) have gone out.
   */
  static <T, R> List<R> inPushOrder(java.util.Collection<T> types, TypePass<T, R> pass) {
    List<T> order = List.copyOf(types);
    List<R> out = new java.util.ArrayList<>(1);
    for (int i = 0; i < order.size(); i++) {
      R r = pass.compute(order.get(i), i < order.size() - 1);
      if (r != null) {
        out.add(r);
      }
    }
    for (int i = 0; i < order.size() - 1; i++) {
      R r = pass.compute(order.get(i), false);
      if (r != null) {
        out.add(r);
      }
    }
    return out;
  }

  static String abbreviate(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "...";
  }

  /**
   * First request's node is kept for the whole stream (set_node_on_first_message_only, rule 2), only
   * the fields Rotor reads ({@link NodeFields}); every request's node is checked against the limits,
   * and the first once against what the caller may claim to be (a TCP caller naming another
   * workload's node id is refused).
   */
  final void rememberNode(boolean hasNode, Node node) {
    if (!hasNode) {
      return;
    }
    guard.checkNode(node);
    if (info.node().equals(Node.getDefaultInstance())) {
      info.setNode(NodeFields.kept(node));
      refuseNodeIfNotEntitled(node);
    }
  }

  private void refuseNodeIfNotEntitled(Node node) {
    java.util.Optional<Status> refusal = store.current().nodeRefusal(node, info.caller());
    if (refusal.isPresent()) {
      events.callerRefused(info.caller(), Caller.REFUSED_NODE_ID, node.getId());
      throw refusal.get().asRuntimeException();
    }
  }
}
