package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.identity.IdentitySnapshot;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rotor's gRPC services over TCP with mutual TLS, for Envoys outside the pod. Rotor presents its
 * own current SVID ({@link SvidKeyManager}) and serves only clients whose SVID verifies against
 * the current bundle of their trust domain and whose SPIFFE ID is allowed ({@link
 * SpiffeTrustManager}, then {@link SpiffeIdAuthorizationInterceptor} per call).
 *
 * <p>TLS uses the JDK provider, not OpenSSL: the JDK asks the key and trust managers at every
 * handshake, which is what lets a rotated SVID or bundle apply to the next connection with no
 * rebuilt context and no restart.
 */
public final class TcpMtlsServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TcpMtlsServer.class);

  static final String FLAG = "--tcp-listen";

  /**
   * A resumed TLS session skips the trust manager, so it would not notice a bundle change or an
   * expired client SVID. Keep resumption short-lived: a full handshake costs a millisecond and
   * clients reconnect rarely.
   */
  static final long SESSION_TIMEOUT_SECONDS = 60;

  private final Server server;
  private final AtomicBoolean closed = new AtomicBoolean();

  private TcpMtlsServer(Server server) {
    this.server = server;
  }

  /** As {@link #start(TcpMtlsOptions, Supplier, List, Clock)} with the system clock. */
  public static TcpMtlsServer start(
      TcpMtlsOptions options, Supplier<Optional<IdentitySnapshot>> identities, List<ServerServiceDefinition> services)
      throws TransportStartException {
    return start(options, identities, services, Clock.systemUTC());
  }

  /**
   * Starts serving {@code services} on {@code options.host():options.port()}.
   *
   * @param identities Rotor's current identities: the default SVID is presented to clients, the
   *     bundles (own and federated) verify them; read at every handshake. While it is empty every
   *     handshake fails.
   * @param clock the time client certificates must be valid at
   * @throws TransportStartException when the listener cannot be set up; the message is one line
   *     for the terminal, naming {@code --tcp-listen} and the fix
   */
  public static TcpMtlsServer start(
      TcpMtlsOptions options,
      Supplier<Optional<IdentitySnapshot>> identities,
      List<ServerServiceDefinition> services,
      Clock clock)
      throws TransportStartException {
    requireNonNull(options, "options");
    requireNonNull(identities, "identities");
    List<ServerServiceDefinition> definitions = List.copyOf(requireNonNull(services, "services"));
    requireNonNull(clock, "clock");

    InetSocketAddress address = new InetSocketAddress(options.host(), options.port());
    if (address.isUnresolved()) {
      throw new TransportStartException(FLAG + " " + options.listenAddress() + ": cannot resolve host \""
          + options.host() + "\"; pass an IP address such as 0.0.0.0 or 127.0.0.1");
    }
    SslContext sslContext;
    try {
      sslContext = GrpcSslContexts.configure(SslContextBuilder.forServer(new SvidKeyManager(identities)), SslProvider.JDK)
          .trustManager(new SpiffeTrustManager(identities, options.allowedClientIds(), clock))
          .clientAuth(ClientAuth.REQUIRE)
          .protocols("TLSv1.3", "TLSv1.2")
          .sessionTimeout(SESSION_TIMEOUT_SECONDS)
          .build();
    } catch (SSLException | RuntimeException e) {
      throw new TransportStartException(FLAG + " " + options.listenAddress()
          + ": this Java runtime cannot set up TLS 1.2/1.3 with ALPN (" + e.getMessage() + "); run Rotor on Java 17 or newer", e);
    }
    NettyServerBuilder builder = NettyServerBuilder.forAddress(address)
        .sslContext(sslContext)
        .maxInboundMessageSize(Transports.MAX_INBOUND_MESSAGE_BYTES)
        .permitKeepAliveTime(Transports.PERMIT_KEEPALIVE_SECONDS, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .intercept(new SpiffeIdAuthorizationInterceptor(options.allowedClientIds()));
    definitions.forEach(builder::addService);
    Server server = builder.build();
    try {
      server.start();
    } catch (IOException e) {
      server.shutdownNow();
      if (isAddressInUse(e)) {
        throw new TransportStartException(FLAG + " " + options.listenAddress()
            + ": address already in use; stop the process that listens there or choose another port", e);
      }
      throw new TransportStartException(FLAG + " " + options.listenAddress() + ": cannot listen ("
          + rootMessage(e) + "); check the address belongs to this host and the port is allowed", e);
    }
    log.info("serving gRPC with mutual TLS on {}:{} (allowed clients {})",
        options.host(), boundPort(server), options.allowedClientIds());
    return new TcpMtlsServer(server);
  }

  public Server server() {
    return server;
  }

  /** The port actually bound (the chosen one when the options said 0). */
  public int port() {
    return boundPort(server);
  }

  /** Stops the server; in-flight calls get a bounded grace period, then are cancelled. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      Transports.shutdown(server, Transports.SHUTDOWN_GRACE_SECONDS);
      log.info("stopped serving gRPC with mutual TLS");
    }
  }

  private static int boundPort(Server server) {
    return server.getListenSockets().stream()
        .filter(InetSocketAddress.class::isInstance)
        .map(a -> ((InetSocketAddress) a).getPort())
        .findFirst()
        .orElse(-1);
  }

  private static boolean isAddressInUse(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      // Netty's native transport reports EADDRINUSE as an IOException, the NIO one as BindException;
      // both say "Address already in use". Other BindExceptions (e.g. an address not on this host)
      // need a different fix.
      if (t.getMessage() != null && t.getMessage().contains("Address already in use")) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }
}
