package dev.rotor.runtime;

import dev.rotor.admin.AdminOptions;
import dev.rotor.gate.GatePolicy;
import dev.rotor.protocol.ResourceStore;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.transport.UdsServerOptions;
import dev.rotor.xds.secret.SecretNaming;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The real {@code rotor serve} runtime (development CA for {@code spiffe://example.org/workload},
 * Unix socket with the peer-UID check) and Netty clients on its socket, as Envoys connect.
 * Client channels run callbacks on their one event-loop thread, so the client adds no threads.
 */
final class UdsRuntime implements AutoCloseable {

  private final Path socketDir;
  private final ServeRuntime runtime;
  private final EventLoopGroup clientLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private final List<ManagedChannel> channels = new ArrayList<>();

  UdsRuntime() {
    try {
      // Unix socket paths are limited to 107 bytes: a short directory, not JUnit's temp dir.
      socketDir = Files.createTempDirectory(Path.of("/tmp"), "rotor-rt-");
      TrustDomain td = TrustDomain.parse("example.org");
      runtime = ServeRuntime.start(new ServeConfig(
          Optional.of(DevCaOptions.of(td, List.of(SpiffeId.parse("spiffe://example.org/workload")),
              Duration.ofHours(1), Duration.ofDays(1), Duration.ZERO, Duration.ofHours(1))),
          Optional.empty(),
          Duration.ZERO,
          GatePolicy.trustDomain(td),
          UdsServerOptions.of(socketDir.resolve("sds.sock"), Set.of(ownUid())),
          Optional.empty(),
          SecretNaming.SPIRE_DEFAULTS,
          false,
          Optional.empty(),
          Duration.ofSeconds(1),
          AdminOptions.disabled()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  ResourceStore store() {
    return runtime.store();
  }

  /** Streams the status registry (/status) still lists as open. */
  int registeredStreams() {
    return runtime.streamRegistry().streams().size();
  }

  ServeRuntime runtime() {
    return runtime;
  }

  /** The open streams as /status and CSDS see them. */
  List<dev.rotor.status.StreamStatus> streams() {
    return runtime.streamRegistry().streams();
  }

  /** A new connection to Rotor's socket. */
  synchronized ManagedChannel channel() {
    ManagedChannel channel = NettyChannelBuilder
        .forAddress(new DomainSocketAddress(runtime.sdsSocket().orElseThrow().toString()))
        .channelType(EpollDomainSocketChannel.class)
        .withOption(ChannelOption.SO_KEEPALIVE, null) // not a Unix-socket option; Netty warns per connection
        .eventLoopGroup(clientLoop)
        .directExecutor()
        .maxInboundMessageSize(16 << 20)
        .usePlaintext()
        .build();
    channels.add(channel);
    return channel;
  }

  /** Heap in use after full collections: what is still reachable. */
  static long usedHeapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  static int ownUid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public synchronized void close() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
      c.awaitTermination(5, TimeUnit.SECONDS);
    }
    clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    runtime.close();
    try (Stream<Path> files = Files.walk(socketDir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
