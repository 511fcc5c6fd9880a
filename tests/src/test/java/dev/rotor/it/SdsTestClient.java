package dev.rotor.it;

import static java.util.Objects.requireNonNull;
import static org.awaitility.Awaitility.await;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An SDS v3 client over a Unix domain socket, playing Envoy's part: State-of-the-World
 * {@code StreamSecrets} streams that ACK every response (its {@code version_info} and
 * {@code nonce}) and record each response with the time it arrived, and {@code FetchSecrets}.
 * Works against Rotor and against the SPIRE agent's own SDS alike.
 *
 * <p>Never prints responses: they carry private keys.
 */
public final class SdsTestClient implements AutoCloseable {
  public static final String SECRET_TYPE_URL =
      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

  private final Path socket;
  private final EventLoopGroup eventLoop;
  private final ManagedChannel channel;

  private SdsTestClient(Path socket) {
    this.socket = socket;
    // MultiThreadIoEventLoopGroup + EpollIoHandler is Netty 4.2's replacement for the deprecated
    // EpollEventLoopGroup; Unix sockets need the epoll transport either way.
    this.eventLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .eventLoopGroup(eventLoop)
        .channelType(EpollDomainSocketChannel.class)
        // A Unix socket address has no host name; any valid authority does.
        .overrideAuthority("localhost")
        .usePlaintext()
        .build();
  }

  /** A client for the SDS server on {@code socket}; connects lazily, on the first call. */
  public static SdsTestClient connect(Path socket) {
    return new SdsTestClient(requireNonNull(socket, "socket"));
  }

  /** A node as an Envoy sidecar would send it (no build version: "version unknown"). */
  public static Node node(String id) {
    return Node.newBuilder().setId(id).setCluster("rotor-it").build();
  }

  /** One {@code FetchSecrets} call; throws {@link io.grpc.StatusRuntimeException} on failure. */
  public DiscoveryResponse fetchSecrets(Node node, List<String> names, Duration timeout) {
    return SecretDiscoveryServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .fetchSecrets(DiscoveryRequest.newBuilder()
            .setNode(node)
            .setTypeUrl(SECRET_TYPE_URL)
            .addAllResourceNames(names)
            .build());
  }

  /**
   * Opens a {@code StreamSecrets} stream subscribed to {@code names}, sends the initial request
   * (with the node, as Envoy does) and ACKs every response from then on.
   */
  public SecretStream streamSecrets(Node node, List<String> names) {
    return streamSecrets(node, names, "", "");
  }

  /**
   * As {@link #streamSecrets(Node, List)}, but the first request carries the version and nonce
   * of the last response of an earlier stream, as Envoy's first request after a reconnect does.
   */
  public SecretStream streamSecrets(Node node, List<String> names, String lastVersion, String lastNonce) {
    SecretStream stream = new SecretStream(socket + " " + names, names);
    StreamObserver<DiscoveryRequest> requests =
        SecretDiscoveryServiceGrpc.newStub(channel).streamSecrets(stream);
    stream.send(requests, DiscoveryRequest.newBuilder()
        .setNode(node)
        .setTypeUrl(SECRET_TYPE_URL)
        .addAllResourceNames(names)
        .setVersionInfo(lastVersion)
        .setResponseNonce(lastNonce)
        .build());
    return stream;
  }

  /** Opens a {@code DeltaSecrets} stream subscribed to {@code names} that ACKs every response. */
  public DeltaSecretStream deltaSecrets(Node node, List<String> names) {
    return DeltaSecretStream.open(channel, socket + " delta " + names, node, names);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
      eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A response and the moment it arrived. */
  public record Received(DiscoveryResponse response, Instant arrivedAt) {}

  /**
   * One SotW secret stream. Responses, the terminal error and completion are recorded from gRPC's
   * callback thread and read from the test thread; all of them are thread-safe.
   */
  public static final class SecretStream
      implements ClientResponseObserver<DiscoveryRequest, DiscoveryResponse>, AutoCloseable {
    private final String description;
    private final List<String> names;
    private final List<Received> responses = new CopyOnWriteArrayList<>();
    private final AtomicReference<Throwable> error = new AtomicReference<>();
    private volatile boolean completed;
    /** Guards {@link #requests}: gRPC's request observer is not thread-safe. */
    private final Object requestLock = new Object();
    private StreamObserver<DiscoveryRequest> requests;
    private ClientCallStreamObserver<DiscoveryRequest> call;

    private SecretStream(String description, List<String> names) {
      this.description = description;
      this.names = List.copyOf(names);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
      this.call = requestStream;
    }

    private void send(StreamObserver<DiscoveryRequest> requestObserver, DiscoveryRequest request) {
      synchronized (requestLock) {
        this.requests = requestObserver;
        requestObserver.onNext(request);
      }
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      responses.add(new Received(response, Instant.now()));
      DiscoveryRequest ack = DiscoveryRequest.newBuilder()
          .setTypeUrl(response.getTypeUrl().isEmpty() ? SECRET_TYPE_URL : response.getTypeUrl())
          .addAllResourceNames(names)
          .setVersionInfo(response.getVersionInfo())
          .setResponseNonce(response.getNonce())
          .build();
      synchronized (requestLock) {
        if (requests != null && error.get() == null && !completed) {
          requests.onNext(ack);
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

    /** A snapshot of every response so far, oldest first. */
    public List<Received> responses() {
      return List.copyOf(responses);
    }

    public Received last() {
      List<Received> all = responses();
      if (all.isEmpty()) {
        throw new AssertionError("no response yet on " + description);
      }
      return all.get(all.size() - 1);
    }

    /** The status the stream ended with, if it ended with an error. */
    public Optional<Status> errorStatus() {
      return Optional.ofNullable(error.get()).map(Status::fromThrowable);
    }

    /** True while the server has neither failed nor completed the stream. */
    public boolean isOpen() {
      return error.get() == null && !completed;
    }

    /** A line for assertion messages: the stream, its responses, how it ended. */
    public String describe() {
      return description + ": " + responses.size() + " responses"
          + errorStatus().map(s -> ", failed with " + s).orElse("")
          + (completed ? ", completed by the server" : "");
    }

    /**
     * Waits until at least {@code count} responses arrived and returns the {@code count}-th;
     * fails at once if the stream ends first.
     */
    public Received awaitResponses(int count, Duration timeout) {
      await(count + " response(s) on SDS stream " + description)
          .atMost(timeout)
          .until(() -> {
            if (responses.size() < count && !isOpen()) {
              throw new AssertionError("stream ended before " + count + " responses: " + describe(),
                  error.get());
            }
            return responses.size() >= count;
          });
      return responses.get(count - 1);
    }

    /** Waits until the server ends the stream with an error and returns its status. */
    public Status awaitError(Duration timeout) {
      await("SDS stream " + description + " to fail")
          .atMost(timeout)
          .until(() -> error.get() != null || completed);
      return errorStatus().orElseThrow(
          () -> new AssertionError("expected an error, but the server completed " + describe()));
    }

    /** Cancels the stream, as Envoy does when it drops a subscription. */
    @Override
    public void close() {
      synchronized (requestLock) {
        if (call != null && isOpen()) {
          call.cancel("test closed the stream", null);
        }
      }
    }
  }
}
