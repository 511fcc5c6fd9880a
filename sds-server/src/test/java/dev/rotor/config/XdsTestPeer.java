package dev.rotor.config;

import static org.assertj.core.api.Assertions.fail;

import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A hand-written xDS client (ADS, LDS or CDS; state of the world or delta): it sends exactly the
 * requests a test writes and queues every response, so a test can say "a response arrives" ({@link
 * #awaitResponse}) or "nothing arrives" ({@link #assertNoResponse}). Every wait is bounded, and a
 * failure names what was awaited.
 */
final class XdsTestPeer<ReqT, RespT> implements AutoCloseable {

  /** How long a test waits for something that must happen. */
  static final Duration TIMEOUT = Duration.ofSeconds(5);
  /** How long a test watches for something that must not happen. */
  static final Duration QUIET = Duration.ofMillis(250);

  /** The end of the stream, as the client saw it. */
  private record Closed(Status status) {}

  private final String name;
  private final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
  private final StreamObserver<ReqT> requests;
  private final Object sendLock = new Object();
  private volatile ClientCallStreamObserver<ReqT> call;

  /**
   * @param name says which peer it is in failure messages (e.g. {@code "backend ADS"})
   * @param open the stub method that opens the stream, e.g. {@code stub::streamAggregatedResources}
   */
  XdsTestPeer(String name, Function<StreamObserver<RespT>, StreamObserver<ReqT>> open) {
    this.name = name;
    this.requests = open.apply(new ClientResponseObserver<ReqT, RespT>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<ReqT> requestStream) {
        call = requestStream;
      }

      @Override
      public void onNext(RespT value) {
        inbox.add(value);
      }

      @Override
      public void onError(Throwable t) {
        inbox.add(new Closed(Status.fromThrowable(t)));
      }

      @Override
      public void onCompleted() {
        inbox.add(new Closed(Status.OK));
      }
    });
  }

  @SafeVarargs
  final void send(ReqT... requests) {
    synchronized (sendLock) { // StreamObserver is not thread-safe
      for (ReqT r : requests) {
        this.requests.onNext(r);
      }
    }
  }

  RespT awaitResponse() {
    return awaitResponse(TIMEOUT);
  }

  RespT awaitResponse(Duration timeout) {
    Object next = poll(timeout);
    if (next == null) {
      return fail("%s: waited %s for a response; none arrived", name, timeout);
    }
    if (next instanceof Closed c) {
      return fail("%s: waited for a response; the stream closed instead with %s", name, c.status());
    }
    @SuppressWarnings("unchecked")
    RespT response = (RespT) next;
    return response;
  }

  /** Watches the stream for {@link #QUIET} and fails if a response (or the end of the stream) arrives. */
  void assertNoResponse() {
    assertNoResponse(QUIET);
  }

  void assertNoResponse(Duration quiet) {
    Object next = poll(quiet);
    if (next instanceof Closed c) {
      fail("%s: expected no response; the stream closed with %s", name, c.status());
    }
    if (next != null) {
      fail("%s: expected no response within %s; got %s", name, quiet, summary(next));
    }
  }

  /** Waits for the server to end the stream and returns how; fails if a response comes first. */
  Status awaitClosed() {
    Object next = poll(TIMEOUT);
    if (next == null) {
      return fail("%s: waited %s for the stream to close; it stayed open", name, TIMEOUT);
    }
    if (!(next instanceof Closed c)) {
      return fail("%s: waited for the stream to close; got a response instead: %s", name, summary(next));
    }
    return c.status();
  }

  /** Type, names, version and nonce of a response; never its bodies (secrets hold private keys). */
  static String summary(Object response) {
    if (response instanceof DiscoveryResponse r) {
      return AdsWire.shortType(r.getTypeUrl()) + " version " + r.getVersionInfo() + ", nonce " + r.getNonce()
          + ", resources " + AdsWire.names(r);
    }
    if (response instanceof DeltaDiscoveryResponse r) {
      return AdsWire.shortType(r.getTypeUrl()) + " nonce " + r.getNonce() + ", resources " + AdsWire.names(r)
          + ", removed " + r.getRemovedResourcesList();
    }
    return response.getClass().getSimpleName();
  }

  private Object poll(Duration timeout) {
    try {
      return inbox.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(name + ": interrupted while waiting for the server", e);
    }
  }

  @Override
  public void close() {
    ClientCallStreamObserver<ReqT> c = call;
    if (c != null) {
      c.cancel("test over", null);
    }
  }
}
