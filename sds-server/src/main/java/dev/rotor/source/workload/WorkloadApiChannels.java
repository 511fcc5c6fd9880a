package dev.rotor.source.workload;

import static java.util.Objects.requireNonNull;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Builds the gRPC channel to a SPIRE agent socket: the Workload API, or (node mode) the agent's admin
 * socket with the Delegated Identity API; the transport the production path uses.
 */
public final class WorkloadApiChannels {

  /**
   * Keepalive pings detect an agent that hangs without closing the socket (a closed or removed
   * socket is seen at once). Five minutes is the minimum ping interval grpc-go servers, SPIRE's
   * agent among them, accept by default; pinging more often earns a GOAWAY "too_many_pings".
   */
  static final long KEEPALIVE_TIME_SECONDS = TimeUnit.MINUTES.toSeconds(5);

  static final long KEEPALIVE_TIMEOUT_SECONDS = 20;

  /** How the source gets its channel, and what to free after the channel is shut down. */
  public record Transport(Supplier<ManagedChannel> channels, Runnable release) {
    public Transport {
      requireNonNull(channels, "channels");
      requireNonNull(release, "release");
    }
  }

  private WorkloadApiChannels() {}

  public static Transport forAddress(WorkloadApiAddress address) {
    requireNonNull(address, "address");
    if (address instanceof WorkloadApiAddress.Unix) {
      return unix((WorkloadApiAddress.Unix) address);
    }
    WorkloadApiAddress.Tcp tcp = (WorkloadApiAddress.Tcp) address;
    // The Workload API over TCP is plaintext by specification; only loopback or a trusted network makes sense.
    return new Transport(
        () -> keepalive(NettyChannelBuilder.forAddress(new InetSocketAddress(tcp.ip(), tcp.port())))
            .usePlaintext()
            .build(),
        () -> {});
  }

  private static Transport unix(WorkloadApiAddress.Unix address) {
    if (!Epoll.isAvailable()) {
      throw new IllegalStateException(WorkloadApiAddress.FLAG + ": " + address.uri()
          + " needs Unix domain sockets, which need Netty's epoll transport (Linux x86_64 or aarch64): "
          + Epoll.unavailabilityCause(), Epoll.unavailabilityCause());
    }
    EpollLoop loop = new EpollLoop();
    Supplier<ManagedChannel> channels = () ->
        keepalive(NettyChannelBuilder.forAddress(new DomainSocketAddress(address.path().toString())))
            .eventLoopGroup(loop.get())
            .channelType(EpollDomainSocketChannel.class)
            // gRPC sets TCP keepalive on every socket; a Unix socket has none, and Netty would warn on
            // every (re)connect that the option is unknown. A null value removes the option.
            .withOption(ChannelOption.SO_KEEPALIVE, null)
            // A socket path is no authority; the agent ignores it, grpc-go clients send "localhost" too.
            .overrideAuthority("localhost")
            .usePlaintext()
            .build();
    return new Transport(channels, loop::release);
  }

  /** One epoll event loop thread, plenty for one stream: created on first use, freed on close. */
  private static final class EpollLoop {
    private EventLoopGroup group; // guarded by this

    synchronized EventLoopGroup get() {
      if (group == null) {
        group = new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("rotor-workload-api", true), EpollIoHandler.newFactory());
      }
      return group;
    }

    synchronized void release() {
      if (group != null) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
    }
  }

  private static NettyChannelBuilder keepalive(NettyChannelBuilder builder) {
    return builder
        .keepAliveTime(KEEPALIVE_TIME_SECONDS, TimeUnit.SECONDS)
        .keepAliveTimeout(KEEPALIVE_TIMEOUT_SECONDS, TimeUnit.SECONDS)
        .keepAliveWithoutCalls(false);
  }
}
