package dev.rotor.runtime;

import dev.rotor.admin.AdminOptions;
import dev.rotor.gate.GatePolicy;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.transport.TcpMtlsOptions;
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
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code rotor serve} in this JVM: {@link ServeRuntime} with the development CA, its SDS
 * socket in a temporary directory (real UDS, peer-UID checked), the admin endpoint on a free
 * loopback port and, optionally, a watched policy file. Tests talk to it as Envoy and an operator
 * would: gRPC over the socket, HTTP to the admin endpoint.
 */
final class RunningRotor implements AutoCloseable {

  static final TrustDomain TD = TrustDomain.parse("example.org");
  static final SpiffeId WORKLOAD = SpiffeId.parse("spiffe://example.org/ns/demo/sa/backend");

  final ServeRuntime runtime;
  final ManagedChannel channel;
  private final EventLoopGroup loops;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private RunningRotor(ServeRuntime runtime, ManagedChannel channel, EventLoopGroup loops) {
    this.runtime = runtime;
    this.channel = channel;
    this.loops = loops;
  }

  /** Starts Rotor with the dev CA, a socket under {@code dir} and, if given, a policy file. */
  static RunningRotor start(Path dir, Optional<Path> policy) {
    DevCaOptions dev = new DevCaOptions(TD, List.of(WORKLOAD), Duration.ofHours(1), Duration.ofHours(24),
        Duration.ZERO, Duration.ofHours(1), List.of());
    return start(dir, policy, dev, Optional.empty());
  }

  /**
   * Starts Rotor with this dev CA (its first SPIFFE ID is Rotor's own), a socket under {@code dir},
   * optionally a policy file and the TCP listener with mutual TLS.
   */
  static RunningRotor start(Path dir, Optional<Path> policy, DevCaOptions dev, Optional<TcpMtlsOptions> tcp) {
    Path socket = dir.resolve("sds.sock");
    ServeConfig config = new ServeConfig(Optional.of(dev), Optional.empty(), Duration.ZERO,
        GatePolicy.trustDomain(TD), UdsServerOptions.of(socket, Set.of(ownUid())), tcp,
        SecretNaming.SPIRE_DEFAULTS, false, policy, Duration.ofMillis(100),
        new AdminOptions(Optional.of(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)), Duration.ofSeconds(30)));
    ServeRuntime runtime = ServeRuntime.start(config);
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .withOption(ChannelOption.SO_KEEPALIVE, null) // not a Unix-socket option; avoids a warning
        .eventLoopGroup(loops)
        .usePlaintext()
        .build();
    return new RunningRotor(runtime, channel, loops);
  }

  String adminUrl() {
    return runtime.adminUrl().orElseThrow();
  }

  /** GET on the admin endpoint; the body as text. */
  HttpResponse<String> get(String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create(adminUrl() + path)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + path, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted during GET " + path, e);
    }
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    runtime.close();
    loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  static int ownUid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read this process's UID from /proc/self", e);
    }
  }

  /** A small policy with one workload, {@code backend}, matched by node id. */
  static String policy(int appPort) {
    return """
        version: 1
        trustDomain: example.org
        workloads:
          - name: backend
            match:
              nodeIds: [backend]
            inbound:
              port: 8080
              appPort: %d
              protocol: http
              rules:
                - action: allow
                  from:
                    - spiffeId: spiffe://example.org/ns/demo/sa/frontend
        """.formatted(appPort);
  }

  static List<String> lines(String s) {
    return new ArrayList<>(s.lines().toList());
  }
}
