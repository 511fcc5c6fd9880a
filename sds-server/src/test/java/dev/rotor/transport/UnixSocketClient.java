package dev.rotor.transport;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A gRPC caller on a Unix socket as Envoy is one, and who this test process is to SO_PEERCRED. */
final class UnixSocketClient {
  private UnixSocketClient() {}

  /**
   * One FetchSecrets for {@code default} on a new connection (its own event loop), with a 10 s
   * deadline; what it opened is added to {@code cleanup}.
   */
  static DiscoveryResponse fetch(Path socket, List<AutoCloseable> cleanup) {
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    cleanup.add(() -> loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS));
    ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .withOption(ChannelOption.SO_KEEPALIVE, null) // not a Unix-socket option; avoids a warning
        .eventLoopGroup(loops)
        .usePlaintext()
        .build();
    cleanup.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return SecretDiscoveryServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .fetchSecrets(DiscoveryRequest.newBuilder().addResourceNames("default").build());
  }

  static int currentUid() {
    return procSelf("uid");
  }

  static int currentGid() {
    return procSelf("gid");
  }

  private static int procSelf(String attribute) {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:" + attribute);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read this process's " + attribute + " from /proc/self", e);
    }
  }
}
