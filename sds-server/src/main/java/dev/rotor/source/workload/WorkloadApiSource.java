package dev.rotor.source.workload;

import static java.util.Objects.requireNonNull;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.source.IdentityListener;
import dev.rotor.source.IdentitySource;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDRequest;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Identities from a SPIRE agent (or any SPIFFE Workload API server): one long-lived {@code
 * FetchX509SVID} stream, each response turned into a candidate {@link IdentitySnapshot}.
 *
 * <p>Failures never stop it. A response that cannot be parsed is reported and skipped, the stream
 * stays open. A stream that ends or fails (agent restarted, socket gone, {@code PERMISSION_DENIED}
 * because the agent has no registration entry for this workload yet) is reported and re-opened
 * after a jittered exponential {@link Backoff}, which resets once a good response arrives. The
 * last good identities are the consumer's to keep; this class holds nothing downstream needs.
 *
 * <p>Threading: all state below is owned by one {@link SynchronizationContext}; gRPC callbacks and
 * retry timers only enqueue work on it, so they never race. Listener calls run on that context,
 * one at a time.
 */
public final class WorkloadApiSource implements IdentitySource {

  private static final Logger log = LoggerFactory.getLogger(WorkloadApiSource.class);

  /** SPIFFE Workload API spec: every call must carry it, or the server rejects the call. */
  static final Metadata.Key<String> SECURITY_HEADER =
      Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);

  private final String description;
  private final Supplier<ManagedChannel> channelFactory;
  private final Runnable releaseTransport;
  private final ScheduledExecutorService scheduler;
  private final AtomicBoolean started = new AtomicBoolean();
  private final SynchronizationContext syncContext;
  /** Read without the context to stop delivering as soon as close() is called. */
  private volatile boolean closing;

  // Owned by syncContext.
  private final Backoff backoff;
  private IdentityListener listener;
  private ManagedChannel channel;
  private ClientCall<X509SVIDRequest, X509SVIDResponse> call;
  private SynchronizationContext.ScheduledHandle pendingRetry;
  private boolean closed;

  WorkloadApiSource(
      String description,
      Supplier<ManagedChannel> channelFactory,
      Runnable releaseTransport,
      ScheduledExecutorService scheduler,
      Backoff backoff) {
    this.description = requireNonNull(description, "description");
    this.channelFactory = requireNonNull(channelFactory, "channelFactory");
    this.releaseTransport = requireNonNull(releaseTransport, "releaseTransport");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.backoff = requireNonNull(backoff, "backoff");
    this.syncContext = new SynchronizationContext((thread, e) ->
        log.error("{}: unexpected failure in the Workload API client", description, e));
  }

  /**
   * A source for the agent at {@code address}: a Netty channel over a Unix domain socket (epoll)
   * or plaintext TCP, as the Workload API is served. Nothing connects until {@link #start}.
   *
   * @param scheduler runs reconnect timers; not shut down by {@link #close}
   * @param random jitters the reconnect delays
   * @throws IllegalStateException if {@code address} is a Unix socket and epoll is unavailable
   */
  public static WorkloadApiSource connect(
      WorkloadApiAddress address, ScheduledExecutorService scheduler, Random random) {
    requireNonNull(address, "address");
    WorkloadApiChannels.Transport transport = WorkloadApiChannels.forAddress(address);
    return new WorkloadApiSource("workload-api " + address.uri(), transport.channels(), transport.release(),
        scheduler, Backoff.withDefaults(requireNonNull(random, "random")));
  }

  /**
   * A source over channels from {@code channelFactory} (for tests: an in-process channel). The
   * factory is called once, on {@link #start}; the channel is shut down by {@link #close}.
   *
   * @param description for logs, e.g. {@code workload-api in-process}
   */
  public static WorkloadApiSource forChannel(
      String description,
      Supplier<ManagedChannel> channelFactory,
      ScheduledExecutorService scheduler,
      Random random) {
    return new WorkloadApiSource(description, channelFactory, () -> {}, scheduler,
        Backoff.withDefaults(requireNonNull(random, "random")));
  }

  @Override
  public void start(IdentityListener listener) {
    requireNonNull(listener, "listener");
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException(description + ": start() called twice (a source delivers to one listener)");
    }
    syncContext.execute(() -> {
      this.listener = listener;
      openStream();
    });
  }

  @Override
  public String describe() {
    return description;
  }

  @Override
  public void close() {
    closing = true;
    syncContext.execute(() -> {
      if (closed) {
        return;
      }
      closed = true;
      if (pendingRetry != null) {
        pendingRetry.cancel();
        pendingRetry = null;
      }
      if (call != null) {
        call.cancel("Workload API source closed", null);
        call = null;
      }
      if (channel != null) {
        channel.shutdownNow();
      }
      try {
        releaseTransport.run();
      } catch (RuntimeException e) {
        log.warn("{}: releasing the transport failed", description, e);
      }
      log.info("{}: closed", description);
    });
  }

  private void openStream() {
    pendingRetry = null;
    if (closed) {
      return;
    }
    try {
      if (channel == null) {
        channel = channelFactory.get();
      } else {
        // The channel backs off reconnecting on its own, up to minutes; the agent may be back now.
        channel.resetConnectBackoff();
      }
      ClientCall<X509SVIDRequest, X509SVIDResponse> newCall =
          channel.newCall(SpiffeWorkloadAPIGrpc.getFetchX509SVIDMethod(), CallOptions.DEFAULT);
      call = newCall;
      Metadata headers = new Metadata();
      headers.put(SECURITY_HEADER, "true");
      newCall.start(new StreamListener(newCall), headers);
      newCall.sendMessage(X509SVIDRequest.getDefaultInstance());
      newCall.halfClose();
      newCall.request(1);
      log.debug("{}: FetchX509SVID stream opened", description);
    } catch (RuntimeException e) {
      call = null;
      retryLater("cannot open the FetchX509SVID stream: " + e.getMessage(), e);
    }
  }

  private void onResponse(ClientCall<X509SVIDRequest, X509SVIDResponse> from, X509SVIDResponse response) {
    if (from != call || closed) {
      return;
    }
    IdentitySnapshot snapshot;
    try {
      snapshot = X509SvidResponses.toSnapshot(response);
    } catch (MalformedResponseException | RuntimeException e) {
      // A RuntimeException here would be a bug in the conversion; still skip the response and keep
      // the stream flowing rather than stall it with no further request(1).
      report("the agent sent a response that cannot be used, waiting for the next one: " + e.getMessage(), e);
      from.request(1);
      return;
    }
    backoff.reset();
    log.info("{}: snapshot {} with {}, bundles for {}",
        description, snapshot.version(), snapshot.svids(), snapshot.bundles().keySet());
    if (!closing) {
      try {
        listener.onSnapshot(snapshot);
      } catch (RuntimeException e) {
        log.error("{}: identity listener failed on snapshot {}", description, snapshot.version(), e);
      }
    }
    from.request(1);
  }

  private void onStreamClosed(ClientCall<X509SVIDRequest, X509SVIDResponse> from, Status status) {
    if (from != call || closed) {
      return;
    }
    call = null;
    retryLater(describe(status), status.asException());
  }

  private void retryLater(String reason, Throwable cause) {
    Duration delay = backoff.nextDelay();
    report(reason + "; reconnecting in " + delay.toMillis() + " ms", cause);
    pendingRetry = syncContext.schedule(this::openStream, delay.toNanos(), TimeUnit.NANOSECONDS, scheduler);
  }

  private void report(String reason, Throwable cause) {
    log.warn("{}: {}", description, reason);
    if (closing) {
      return;
    }
    try {
      listener.onSourceError(description + ": " + reason, cause);
    } catch (RuntimeException e) {
      log.error("{}: identity listener failed on an error report", description, e);
    }
  }

  private static String describe(Status status) {
    String text = status.getDescription() == null ? "" : status.getDescription();
    Throwable cause = status.getCause();
    if (cause != null) {
      // "io exception" alone does not say whether the socket is missing or refused.
      String because = cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
      text = text.isEmpty() ? because : text + ": " + because;
    }
    String detail = text.isEmpty() ? "" : " (" + text + ")";
    switch (status.getCode()) {
      case OK:
        return "the agent ended the FetchX509SVID stream";
      case PERMISSION_DENIED:
        // SPIRE says "no identity issued" until a registration entry matches this workload.
        return "the agent has no identity for this workload yet: PERMISSION_DENIED" + detail;
      case UNAVAILABLE:
        return "the agent is unreachable: UNAVAILABLE" + detail;
      default:
        return "the FetchX509SVID stream failed: " + status.getCode() + detail;
    }
  }

  /** Hands gRPC's callbacks to the context; {@code call} tells a stale stream from the current one. */
  private final class StreamListener extends ClientCall.Listener<X509SVIDResponse> {
    private final ClientCall<X509SVIDRequest, X509SVIDResponse> owner;

    StreamListener(ClientCall<X509SVIDRequest, X509SVIDResponse> owner) {
      this.owner = owner;
    }

    @Override
    public void onMessage(X509SVIDResponse message) {
      syncContext.execute(() -> onResponse(owner, message));
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      syncContext.execute(() -> onStreamClosed(owner, status));
    }
  }
}
