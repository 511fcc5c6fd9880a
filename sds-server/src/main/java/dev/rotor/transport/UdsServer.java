package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.logging.RateLimitedLog;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rotor's gRPC services on a Unix domain socket, for the Envoys in the same pod. Every call is
 * authorized by the caller's UID as the kernel reports it (SO_PEERCRED); see {@link
 * UidAuthorizationInterceptor}. The socket file appears atomically with its final mode (see
 * {@link SocketFile}) and is removed by {@link #close()}.
 */
public final class UdsServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(UdsServer.class);

  private static final int EVENT_LOOP_THREADS = 2;

  private final Server server;
  private final Path socketPath;
  private final Object socketFileKey;
  private final EventLoopGroup eventLoops;
  private final UidConnectionGate gate;
  private final SocketLock lock;
  private final AtomicBoolean closed = new AtomicBoolean();

  private UdsServer(Server server, Path socketPath, Object socketFileKey, EventLoopGroup eventLoops,
      UidConnectionGate gate, SocketLock lock) {
    this.server = server;
    this.socketPath = socketPath;
    this.socketFileKey = socketFileKey;
    this.eventLoops = eventLoops;
    this.gate = gate;
    this.lock = lock;
  }

  /**
   * Starts serving {@code services} on the socket. Calls run on gRPC's default executor; every
   * call passes {@link UidAuthorizationInterceptor} first.
   *
   * @throws TransportStartException when the socket cannot be created; the message is one line
   *     for the terminal, naming {@code --sds-socket} and the fix
   */
  public static UdsServer start(UdsServerOptions options, List<ServerServiceDefinition> services)
      throws TransportStartException {
    requireNonNull(options, "options");
    List<ServerServiceDefinition> definitions = List.copyOf(requireNonNull(services, "services"));
    if (!Epoll.isAvailable()) {
      throw new TransportStartException(SocketFile.FLAG + ": Unix domain sockets need Linux epoll, which is unavailable ("
          + Epoll.unavailabilityCause() + "); use --tcp-listen instead", Epoll.unavailabilityCause());
    }
    Path target = options.socketPath();
    SocketFile.checkTarget(target);
    SocketFile.createParents(target);
    // Taken before the path is checked again and replaced: of two Rotors started together on one
    // path, the second stops here instead of renaming its socket over the first one's.
    SocketLock lock = SocketLock.acquire(target);
    try {
      SocketFile.checkTarget(target);
      return start(options, definitions, target, lock);
    } catch (TransportStartException | RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  private static UdsServer start(UdsServerOptions options, List<ServerServiceDefinition> definitions, Path target,
      SocketLock lock) throws TransportStartException {
    Path stagingDir = SocketFile.createStagingDir(target);
    EventLoopGroup eventLoops = new MultiThreadIoEventLoopGroup(
        EVENT_LOOP_THREADS, new DefaultThreadFactory("rotor-uds", true), EpollIoHandler.newFactory());
    UidConnectionGate gate = new UidConnectionGate(options.allowedUids(), options.limits().maxConnections(),
        options.limits().maxConnectionsPerUid(), RateLimitedLog.perSecond());
    Server server = null;
    boolean started = false;
    try {
      Path staged = SocketFile.stagedSocket(stagingDir);
      NettyServerBuilder builder = NettyServerBuilder
          .forAddress(new DomainSocketAddress(staged.toString()),
              InternalNettyServerCredentials.create(new PeerCredentialsNegotiator(gate)))
          .channelType(EpollServerDomainSocketChannel.class)
          // grpc sets SO_KEEPALIVE on every accepted channel; a Unix socket has no such option and
          // Netty would log a warning per connection. null removes the option.
          .withChildOption(ChannelOption.SO_KEEPALIVE, null)
          .bossEventLoopGroup(eventLoops)
          .workerEventLoopGroup(eventLoops)
          .maxInboundMessageSize(Transports.MAX_INBOUND_MESSAGE_BYTES)
          .permitKeepAliveTime(Transports.PERMIT_KEEPALIVE_SECONDS, TimeUnit.SECONDS)
          .permitKeepAliveWithoutCalls(true)
          // One connection may not open streams without end: each holds state (15,000 on one
          // connection ran Rotor out of memory, issue 13, finding 6).
          .maxConcurrentCallsPerConnection(options.limits().maxCallsPerConnection())
          .intercept(new UidAuthorizationInterceptor(options.allowedUids(), gate));
      definitions.forEach(builder::addService);
      server = builder.build();
      try {
        server.start();
      } catch (IOException e) {
        throw new TransportStartException(SocketFile.FLAG + " " + target + ": cannot listen ("
            + e.getMessage() + "); check the directory's permissions or choose another path", e);
      }
      Object fileKey = SocketFile.publish(staged, target, options.socketMode());
      log.info("serving gRPC on unix:{} (mode {}, allowed UIDs {}, limits {})", target, options.socketModeOctal(),
          options.allowedUids(), options.limits());
      started = true;
      return new UdsServer(server, target, fileKey, eventLoops, gate, lock);
    } finally {
      SocketFile.deleteStaging(stagingDir);
      if (!started) {
        if (server != null) {
          server.shutdownNow();
        }
        eventLoops.shutdownGracefully(0, Transports.SHUTDOWN_GRACE_SECONDS, TimeUnit.SECONDS);
      }
    }
  }

  public Server server() {
    return server;
  }

  /**
   * Connections refused since start, by reason in lower case ({@code uid_not_allowed}, {@code
   * no_peer_credentials}, {@code connection_limit}, {@code uid_connection_limit}), for metrics.
   */
  public Map<String, Long> refusals() {
    Map<String, Long> m = new TreeMap<>();
    gate.refusals().forEach((r, n) -> m.put(r.name().toLowerCase(Locale.ROOT), n));
    return m;
  }

  /** Refusal log lines not written because of their rate limit, since start. */
  public long suppressedLogLines() {
    return gate.suppressedLogLines();
  }

  /** Connections admitted and open now. */
  public int openConnections() {
    return gate.open();
  }

  /**
   * Why Envoys cannot reach this server through its path, for {@code /readyz}: the file there is
   * no longer the socket it published (removed, or replaced by another process's). Empty while it
   * is. One stat(2) per call.
   */
  public Optional<String> socketProblem() {
    if (SocketFile.isUnchanged(socketPath, socketFileKey)) {
      return Optional.empty();
    }
    return Optional.of(SocketFile.FLAG + " " + socketPath + ": the socket file was removed or replaced by another"
        + " process; Envoys cannot reach this Rotor (restart it)");
  }

  /** The socket's final path (the one clients connect to). */
  public Path socketPath() {
    return socketPath;
  }

  /**
   * Removes the socket file (so no new client connects), then stops the server: in-flight calls
   * get {@value Transports#SHUTDOWN_GRACE_SECONDS} s to finish before they are cancelled. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (!SocketFile.deleteIfUnchanged(socketPath, socketFileKey)) {
      log.warn("left {} in place: it is no longer the socket this server created", socketPath);
    }
    Transports.shutdown(server, Transports.SHUTDOWN_GRACE_SECONDS);
    eventLoops.shutdownGracefully(0, Transports.SHUTDOWN_GRACE_SECONDS, TimeUnit.SECONDS)
        .awaitUninterruptibly(2 * Transports.SHUTDOWN_GRACE_SECONDS, TimeUnit.SECONDS);
    lock.close();
    log.info("stopped serving on unix:{}", socketPath);
  }
}
