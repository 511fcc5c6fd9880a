package dev.rotor.bench.peers;

import dev.rotor.bench.load.WallClock;
import dev.rotor.identity.Svid;
import dev.rotor.source.dev.DevCa;
import dev.rotor.xds.secret.SecretBuilder;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * The stock java-control-plane peer: {@code V3DiscoveryServer} over a {@code SimpleCache} with
 * every node in one group, serving the same {@code default} secret Rotor serves (an SVID from
 * Rotor's development CA, encoded by Rotor's {@link SecretBuilder}, so the bytes on the wire are
 * the same size), on a Unix socket with the same Netty transport and event-loop count as Rotor's.
 * Nothing of java-control-plane is changed or tuned: this is what a user gets from its README.
 *
 * <p>Every {@code --rotate-every-ms} it issues a new SVID, prints {@code TRIGGER epoch_nanos
 * serial_hex} and sets a new snapshot; the trigger is stamped after issuing and before {@code
 * setSnapshot}, the same point at which the harness stamps Rotor's rotation (its dev CA's "issued"
 * log line).
 *
 * <p>Usage: {@code JcpServerMain --socket PATH [--rotate-every-ms 10000]}
 */
public final class JcpServerMain {

  private static final String GROUP = "bench";

  public static void main(String[] args) throws Exception {
    Path socket = null;
    long rotateEveryMs = 10_000;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--socket" -> socket = Path.of(args[i + 1]);
        case "--rotate-every-ms" -> rotateEveryMs = Long.parseLong(args[i + 1]);
        default -> throw new IllegalArgumentException(args[i] + ": unknown flag");
      }
    }
    if (socket == null) {
      throw new IllegalArgumentException("--socket is required");
    }
    TrustDomain td = TrustDomain.parse("example.org");
    SpiffeId id = SpiffeId.parse("spiffe://example.org/workload");
    DevCa ca = new DevCa(td, Duration.ofHours(24), Duration.ZERO, Clock.systemUTC());

    SimpleCache<String> cache = new SimpleCache<>(node -> GROUP);
    int version = 1;
    cache.setSnapshot(GROUP, snapshot(ca.issue(id, Duration.ofHours(1)), version));

    V3DiscoveryServer discovery = new V3DiscoveryServer(cache);
    Files.deleteIfExists(socket);
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    Server server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .withChildOption(ChannelOption.SO_KEEPALIVE, null)
        .bossEventLoopGroup(loops)
        .workerEventLoopGroup(loops)
        .addService(discovery.getSecretDiscoveryServiceImpl())
        .addService(discovery.getAggregatedDiscoveryServiceImpl())
        .build()
        .start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    System.out.println("LISTENING " + socket);
    System.out.flush();

    while (!Thread.currentThread().isInterrupted()) {
      Thread.sleep(rotateEveryMs);
      Svid next = ca.issue(id, Duration.ofHours(1));
      Snapshot s = snapshot(next, ++version);
      System.out.println("TRIGGER " + WallClock.nowNanos() + " " + next.serialHex());
      System.out.flush();
      cache.setSnapshot(GROUP, s);
    }
  }

  private static Snapshot snapshot(Svid svid, int version) {
    Secret secret = SecretBuilder.tlsCertificate("default", svid);
    return Snapshot.create(List.of(), List.of(), List.of(), List.of(), List.of(secret), "v" + version);
  }
}
