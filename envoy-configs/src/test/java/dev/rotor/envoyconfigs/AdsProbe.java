package dev.rotor.envoyconfigs;

import static java.util.Objects.requireNonNull;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Asks Rotor, as Envoy would, for the listeners of a node over ADS on its Unix socket, so the
 * container test can tell "Rotor cannot serve this bootstrap" apart from "Envoy did not get the
 * secret" with a message that says which.
 */
final class AdsProbe {

  static final String LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener";

  private AdsProbe() {}

  /**
   * Why an Envoy with node id {@code nodeId} would get no listener from Rotor at {@code socket};
   * empty when the first LDS response on an ADS stream carries at least one listener.
   */
  static Optional<String> whyNoListeners(Path socket, String nodeId, Duration timeout) throws InterruptedException {
    requireNonNull(socket, "socket");
    requireNonNull(nodeId, "nodeId");
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(loop)
        .withOption(ChannelOption.SO_KEEPALIVE, null) // not a Unix-socket option
        .usePlaintext()
        .build();
    CompletableFuture<DiscoveryResponse> first = new CompletableFuture<>();
    StreamObserver<DiscoveryRequest> requests = null;
    try {
      requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(
          new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse response) {
              first.complete(response);
            }

            @Override
            public void onError(Throwable t) {
              first.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
              first.completeExceptionally(new IllegalStateException("stream closed without a response"));
            }
          });
      requests.onNext(DiscoveryRequest.newBuilder()
          .setNode(Node.newBuilder().setId(nodeId).setCluster(nodeId))
          .setTypeUrl(LISTENER_TYPE)
          .build());
      DiscoveryResponse response = first.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (response.getResourcesCount() == 0) {
        return Optional.of("Rotor answered LDS for node \"" + nodeId + "\" with no listener"
            + " (does its policy have a workload matching this node id?)");
      }
      return Optional.empty();
    } catch (ExecutionException e) {
      Status status = Status.fromThrowable(e.getCause());
      if (status.getCode() == Status.Code.UNIMPLEMENTED) {
        return Optional.of("Rotor does not serve envoy.service.discovery.v3.AggregatedDiscoveryService;"
            + " the bootstrap takes LDS, CDS and SDS over ADS, so Envoy would never ask for a secret");
      }
      return Optional.of("ADS stream for node \"" + nodeId + "\" failed: " + status);
    } catch (TimeoutException e) {
      return Optional.of("no LDS response on ADS for node \"" + nodeId + "\" within " + timeout.toSeconds() + "s");
    } finally {
      if (requests != null) {
        try {
          requests.onCompleted();
        } catch (RuntimeException ignored) {
          // the stream may already be closed by the server; nothing to finish
        }
      }
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }
}
