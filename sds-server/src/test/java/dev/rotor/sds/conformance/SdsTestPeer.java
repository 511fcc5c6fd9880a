package dev.rotor.sds.conformance;

import static org.assertj.core.api.Assertions.fail;

import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Channel;
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
 * A hand-written SDS client for the conformance suite: it sends exactly the requests a test
 * writes and queues every response, so a test can say "a response arrives" ({@link
 * #awaitResponse}) or "nothing arrives" ({@link #assertNoResponse}). Every wait is bounded.
 *
 * <p>With {@link #slowReader} the peer takes one response and then nothing until the test calls
 * {@link #request}: gRPC flow control then makes the server's stream not ready, as with an Envoy
 * that stopped reading.
 */
final class SdsTestPeer<ReqT, RespT> implements AutoCloseable {

  /** How long a test waits for something that must happen. */
  static final Duration TIMEOUT = Duration.ofSeconds(5);
  /** How long a test watches for something that must not happen. */
  static final Duration QUIET = Duration.ofMillis(250);

  /** The end of the stream, as the client saw it. */
  private record Closed(Status status) {}

  private final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
  private final StreamObserver<ReqT> requests;
  private final Object sendLock = new Object();
  private volatile ClientCallStreamObserver<ReqT> call;
  private Status closedWith;

  private SdsTestPeer(Function<StreamObserver<RespT>, StreamObserver<ReqT>> open, boolean slowReader) {
    this.requests = open.apply(new ClientResponseObserver<ReqT, RespT>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<ReqT> requestStream) {
        call = requestStream;
        if (slowReader) {
          requestStream.disableAutoRequestWithInitial(1);
        }
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

  static SdsTestPeer<DiscoveryRequest, DiscoveryResponse> sotw(Channel channel) {
    return new SdsTestPeer<>(SecretDiscoveryServiceGrpc.newStub(channel)::streamSecrets, false);
  }

  /** A SotW peer that reads one response and then only as many as {@link #request} allows. */
  static SdsTestPeer<DiscoveryRequest, DiscoveryResponse> slowReader(Channel channel) {
    return new SdsTestPeer<>(SecretDiscoveryServiceGrpc.newStub(channel)::streamSecrets, true);
  }

  static SdsTestPeer<DeltaDiscoveryRequest, DeltaDiscoveryResponse> delta(Channel channel) {
    return new SdsTestPeer<>(SecretDiscoveryServiceGrpc.newStub(channel)::deltaSecrets, false);
  }

  void send(ReqT request) {
    synchronized (sendLock) { // StreamObserver is not thread-safe
      requests.onNext(request);
    }
  }

  /** Lets {@code n} more responses through (slow-reader peers only). */
  void request(int n) {
    call.request(n);
  }

  RespT awaitResponse() {
    return awaitResponse(TIMEOUT);
  }

  RespT awaitResponse(Duration timeout) {
    Object next = poll(timeout);
    if (next == null) {
      return fail("waited %s for a response; none arrived", timeout);
    }
    if (next instanceof Closed c) {
      closedWith = c.status();
      return fail("waited for a response; the stream closed instead with %s", c.status());
    }
    @SuppressWarnings("unchecked")
    RespT response = (RespT) next;
    return response;
  }

  /** Watches the stream for {@code QUIET} and fails if a response (or the end of the stream) arrives. */
  void assertNoResponse() {
    assertNoResponse(QUIET);
  }

  void assertNoResponse(Duration quiet) {
    Object next = poll(quiet);
    if (next instanceof Closed c) {
      closedWith = c.status();
      fail("expected no response; the stream closed with %s", c.status());
    }
    if (next != null) {
      fail("expected no response within %s; got %s", quiet, summary(next));
    }
  }

  /** Names, versions and nonce of a response; never its bodies (they hold private keys). */
  private static String summary(Object response) {
    if (response instanceof DiscoveryResponse r) {
      return "version " + r.getVersionInfo() + ", nonce " + r.getNonce() + ", secrets " + Wire.names(r);
    }
    if (response instanceof DeltaDiscoveryResponse r) {
      return "nonce " + r.getNonce() + ", resources " + Wire.names(r) + ", removed " + r.getRemovedResourcesList();
    }
    return response.getClass().getSimpleName();
  }

  /** Waits for the server to end the stream and returns how it ended; fails if a response comes first. */
  Status awaitClosed() {
    if (closedWith != null) {
      return closedWith;
    }
    Object next = poll(TIMEOUT);
    if (next == null) {
      return fail("waited %s for the stream to close; it stayed open", TIMEOUT);
    }
    if (!(next instanceof Closed c)) {
      return fail("waited for the stream to close; got a response instead");
    }
    closedWith = c.status();
    return closedWith;
  }

  private Object poll(Duration timeout) {
    try {
      return inbox.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for the server", e);
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
