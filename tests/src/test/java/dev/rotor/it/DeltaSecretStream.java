package dev.rotor.it;

import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One incremental ({@code DeltaSecrets}) SDS stream playing Envoy's part: subscribes once, ACKs
 * every response by its nonce, and records each response with its arrival time. Thread-safe for
 * the test thread to read while gRPC's callback thread records.
 */
public final class DeltaSecretStream
    implements ClientResponseObserver<DeltaDiscoveryRequest, DeltaDiscoveryResponse>, AutoCloseable {

  /** A delta response and the moment it arrived. */
  public record Received(DeltaDiscoveryResponse response, Instant arrivedAt) {}

  private final String description;
  private final List<Received> responses = new CopyOnWriteArrayList<>();
  private final AtomicReference<Throwable> error = new AtomicReference<>();
  private volatile boolean completed;
  /** Guards {@link #requests}: gRPC's request observer is not thread-safe. */
  private final Object requestLock = new Object();
  private StreamObserver<DeltaDiscoveryRequest> requests;
  private ClientCallStreamObserver<DeltaDiscoveryRequest> call;

  private DeltaSecretStream(String description) {
    this.description = description;
  }

  static DeltaSecretStream open(Channel channel, String description, Node node, List<String> names) {
    DeltaSecretStream stream = new DeltaSecretStream(description);
    synchronized (stream.requestLock) {
      stream.requests = SecretDiscoveryServiceGrpc.newStub(channel).deltaSecrets(stream);
      stream.requests.onNext(DeltaDiscoveryRequest.newBuilder()
          .setNode(node)
          .setTypeUrl(SdsTestClient.SECRET_TYPE_URL)
          .addAllResourceNamesSubscribe(names)
          .build());
    }
    return stream;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<DeltaDiscoveryRequest> requestStream) {
    this.call = requestStream;
  }

  @Override
  public void onNext(DeltaDiscoveryResponse response) {
    responses.add(new Received(response, Instant.now()));
    synchronized (requestLock) {
      if (requests != null && isOpen()) {
        requests.onNext(DeltaDiscoveryRequest.newBuilder()
            .setTypeUrl(SdsTestClient.SECRET_TYPE_URL)
            .setResponseNonce(response.getNonce())
            .build());
      }
    }
  }

  @Override
  public void onError(Throwable t) {
    error.compareAndSet(null, t);
  }

  @Override
  public void onCompleted() {
    completed = true;
  }

  public List<Received> responses() {
    return List.copyOf(responses);
  }

  public boolean isOpen() {
    return error.get() == null && !completed;
  }

  public String describe() {
    return description + ": " + responses.size() + " responses"
        + (error.get() == null ? "" : ", failed with " + io.grpc.Status.fromThrowable(error.get()))
        + (completed ? ", completed by the server" : "");
  }

  /** Waits until some response after the first {@code seen} satisfies {@code condition}. */
  public Received awaitResponseAfter(int seen, java.util.function.Predicate<DeltaDiscoveryResponse> condition,
      String what, Duration timeout) {
    AtomicReference<Received> found = new AtomicReference<>();
    await(what + " on " + description)
        .atMost(timeout)
        .until(() -> {
          List<Received> all = responses();
          for (int i = seen; i < all.size(); i++) {
            if (condition.test(all.get(i).response())) {
              found.set(all.get(i));
              return true;
            }
          }
          if (!isOpen()) {
            throw new AssertionError("stream ended while waiting for " + what + ": " + describe());
          }
          return false;
        });
    return found.get();
  }

  @Override
  public void close() {
    synchronized (requestLock) {
      if (call != null && isOpen()) {
        call.cancel("test closed the stream", null);
      }
    }
  }
}
