package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.fail;

import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Channel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A hand-written SotW xDS client (SDS or ADS) that sends exactly what the test says and queues what
 * arrives, as Envoy would see it. Every wait is bounded. Never prints a response body.
 */
final class XdsClient implements AutoCloseable {

  static final Duration TIMEOUT = Duration.ofSeconds(10);

  /** How the stream ended, as the client saw it. */
  record Closed(io.grpc.Status status) {}

  private final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
  private final StreamObserver<DiscoveryRequest> requests;
  private final Node node;
  private volatile ClientCallStreamObserver<DiscoveryRequest> call;

  private XdsClient(Function<StreamObserver<DiscoveryResponse>, StreamObserver<DiscoveryRequest>> open, Node node) {
    this.node = node;
    this.requests = open.apply(new ClientResponseObserver<DiscoveryRequest, DiscoveryResponse>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
        call = requestStream;
      }

      @Override
      public void onNext(DiscoveryResponse value) {
        inbox.add(value);
      }

      @Override
      public void onError(Throwable t) {
        inbox.add(new Closed(io.grpc.Status.fromThrowable(t)));
      }

      @Override
      public void onCompleted() {
        inbox.add(new Closed(io.grpc.Status.OK));
      }
    });
  }

  static XdsClient sds(Channel channel, String nodeId) {
    return new XdsClient(SecretDiscoveryServiceGrpc.newStub(channel)::streamSecrets, Node.newBuilder().setId(nodeId).build());
  }

  static XdsClient ads(Channel channel, String nodeId) {
    return new XdsClient(AggregatedDiscoveryServiceGrpc.newStub(channel)::streamAggregatedResources,
        Node.newBuilder().setId(nodeId).build());
  }

  /** The first request: node, type and names. */
  void subscribe(String typeUrl, String... names) {
    send(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl).addAllResourceNames(List.of(names)).build());
  }

  void ack(DiscoveryResponse r, String... names) {
    send(DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo(r.getVersionInfo())
        .setResponseNonce(r.getNonce()).addAllResourceNames(List.of(names)).build());
  }

  void nack(DiscoveryResponse r, String acceptedVersion, String error, String... names) {
    send(DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo(acceptedVersion)
        .setResponseNonce(r.getNonce()).addAllResourceNames(List.of(names))
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage(error)).build());
  }

  synchronized void send(DiscoveryRequest r) {
    requests.onNext(r);
  }

  DiscoveryResponse await() {
    Object next = poll(TIMEOUT);
    if (next == null) {
      return fail("waited %s for a response; none arrived", TIMEOUT);
    }
    if (next instanceof Closed c) {
      return fail("waited for a response; the stream closed with %s", c.status());
    }
    return (DiscoveryResponse) next;
  }

  /** Waits for a response of {@code typeUrl}, skipping others. */
  DiscoveryResponse await(String typeUrl) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      DiscoveryResponse r = await();
      if (r.getTypeUrl().equals(typeUrl)) {
        return r;
      }
    }
    return fail("no %s response within %s", typeUrl, TIMEOUT);
  }

  /** Waits for the end of the stream, skipping responses. */
  io.grpc.Status awaitClosed(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      Object next = left <= 0 ? null : poll(Duration.ofNanos(left));
      if (next == null) {
        return fail("waited %s for the stream to end; it stayed open", timeout);
      }
      if (next instanceof Closed c) {
        return c.status();
      }
    }
  }

  private Object poll(Duration timeout) {
    try {
      return inbox.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  @Override
  public void close() {
    ClientCallStreamObserver<DiscoveryRequest> c = call;
    if (c != null) {
      c.cancel("test over", null);
    }
  }
}
