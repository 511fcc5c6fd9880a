package dev.rotor.bench.scenario;

import dev.rotor.bench.load.WallClock;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One Envoy-like SDS stream on {@code default}, inside the harness: for the sidecar footprint,
 * where the load client's own JVM start-up would blur "time to first response". It ACKs every
 * response and stays open until closed.
 */
final class SdsProbe implements AutoCloseable {
  private final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private final ManagedChannel channel;
  private final CountDownLatch first = new CountDownLatch(1);
  private final AtomicLong firstAt = new AtomicLong();

  SdsProbe(Path socket) {
    channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .eventLoopGroup(loop).channelType(EpollDomainSocketChannel.class).overrideAuthority("localhost")
        .directExecutor().usePlaintext().build();
    StreamObserver<DiscoveryRequest>[] req = new StreamObserver[1];
    synchronized (req) {
      req[0] = SecretDiscoveryServiceGrpc.newStub(channel).streamSecrets(new StreamObserver<>() {
        @Override
        public void onNext(DiscoveryResponse r) {
          firstAt.compareAndSet(0, WallClock.nowNanos());
          first.countDown();
          synchronized (req) {
            req[0].onNext(DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.SECRET).addResourceNames("default")
                .setVersionInfo(r.getVersionInfo()).setResponseNonce(r.getNonce()).build());
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      });
      req[0].onNext(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId("sidecar").setCluster("bench"))
          .setTypeUrl(TypeUrls.SECRET).addResourceNames("default").build());
    }
  }

  /** Wall-clock nanos of the first response, or 0 if none came within the timeout. */
  long awaitFirst(long timeoutMillis) throws InterruptedException {
    first.await(timeoutMillis, TimeUnit.MILLISECONDS);
    return firstAt.get();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
