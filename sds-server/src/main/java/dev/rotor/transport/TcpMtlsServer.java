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
import io.spiffe.spiffeid.SpiffeId;
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
 * SpiffeTrustManager} at the handshake, then {@link SpiffeIdAuthorizationInterceptor} again for
 * every call, against the bundles and time of that call). TLS sessions are never resumed.
 *
 * <p>TLS uses the JDK provider, not OpenSSL: the JDK asks the key and trust managers at every
 * handshake, which is what lets a rotated SVID or bundle apply to the next connection with no
 * rebuilt context and no restart.
 */
public final class TcpMtlsServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TcpMtlsServer.class);

  static final String FLAG = "--tcp-listen";

  /**
   * No TLS session is ever resumed: a resumed session skips the trust manager, so a client whose
   * certificate expired, or whose CA left the bundle, would get in on the strength of an earlier
   * handshake (issue 13: an expired SVID fetched keys for 2 min 10 s by resuming). xDS clients
   * reconnect rarely, so the extra full handshakes cost little.
   *
   * <p>The JDK provider has no switch for this. Three settings together close every way in, for
   * this server's context alone (each was needed; docs/reliability.md has what each one stopped):
   *
   * <ul>
   *   <li>No stateless tickets ({@link #withoutStatelessTickets}): the JDK reads {@code
   *       jdk.tls.server.enableSessionTicketExtension} when a context is created, so it is false
   *       around the creation of this one only. Else in TLS 1.2 the ServerHello promises a ticket
   *       to clients that offer the extension (OpenSSL, BoringSSL: Envoy), and the next setting
   *       would make the JDK then send none, which those clients treat as a fatal error.
   *   <li>A session timeout above the JDK's 7-day ticket lifetime: its server then issues no TLS
   *       1.3 ticket at all, neither in the handshake nor after it ("No session ticket produced:
   *       session timeout" in {@code sun.security.ssl.NewSessionTicket}). The session cache it
   *       also governs holds nothing, by the next setting.
   *   <li>Each session is invalidated while it is negotiated, right after the client certificate
   *       verified ({@link NonResumingTrustManager}), so the JDK never caches it for TLS 1.2
   *       session-id resumption; the cache holds one entry at most besides.
   * </ul>
   *
   * <p>TcpMtlsServerTest checks, with a JDK client that offers resumption, that every connection is
   * a full handshake in TLS 1.3 and 1.2. Independently of all this, {@link VerifiedChain}
   * re-verifies the peer's chain for every call and open stream, so a resumption that slipped
   * through (a JDK that behaves otherwise) would still not be served.
   */
  static final long SESSION_TIMEOUT_SECONDS = java.time.Duration.ofDays(8).toSeconds();

  static final long SESSION_CACHE_SIZE = 1;

  private static final String SERVER_TICKETS_PROPERTY = "jdk.tls.server.enableSessionTicketExtension";

  /** Guards the moment the ticket property is changed, should two servers start at once. */
  private static final Object TICKET_PROPERTY_LOCK = new Object();

  /** What the TCP transport refuses after the handshake; metrics count it. */
  @FunctionalInterface
  public interface Listener {
    /** A call from {@code peer} was refused: its certificate expired, or its CA left the bundle, since its handshake. */
    void credentialsLapsed(SpiffeId peer);

    Listener NONE = peer -> {};
  }

  private final Server server;
  private final AtomicBoolean closed = new AtomicBoolean();

  private TcpMtlsServer(Server server) {
    this.server = server;
  }

  /** As {@link #start(TcpMtlsOptions, Supplier, List, Clock, Listener)} with the system clock. */
  public static TcpMtlsServer start(TcpMtlsOptions options, Supplier<Optional<IdentitySnapshot>> identities,
      List<ServerServiceDefinition> services, Listener listener) throws TransportStartException {
    return start(options, identities, services, Clock.systemUTC(), listener);
  }

  /** As {@link #start(TcpMtlsOptions, Supplier, List, Clock, Listener)}, telling no one of refusals. */
  public static TcpMtlsServer start(
      TcpMtlsOptions options, Supplier<Optional<IdentitySnapshot>> identities, List<ServerServiceDefinition> services,
      Clock clock)
      throws TransportStartException {
    return start(options, identities, services, clock, Listener.NONE);
  }

  /**
   * Starts serving {@code services} on {@code options.host():options.port()}.
   *
   * @param identities Rotor's current identities: the default SVID is presented to clients, the
   *     bundles (own and federated) verify them; read at every handshake. While it is empty every
   *     handshake fails.
   * @param clock the time client certificates must be valid at
   * @param listener told of calls refused after the handshake
   * @throws TransportStartException when the listener cannot be set up; the message is one line
   *     for the terminal, naming {@code --tcp-listen} and the fix
   */
  public static TcpMtlsServer start(
      TcpMtlsOptions options,
      Supplier<Optional<IdentitySnapshot>> identities,
      List<ServerServiceDefinition> services,
      Clock clock,
      Listener listener)
      throws TransportStartException {
    requireNonNull(options, "options");
    requireNonNull(identities, "identities");
    List<ServerServiceDefinition> definitions = List.copyOf(requireNonNull(services, "services"));
    requireNonNull(clock, "clock");
    requireNonNull(listener, "listener");

    InetSocketAddress address = new InetSocketAddress(options.host(), options.port());
    if (address.isUnresolved()) {
      throw new TransportStartException(FLAG + " " + options.listenAddress() + ": cannot resolve host \""
          + options.host() + "\"; pass an IP address such as 0.0.0.0 or 127.0.0.1");
    }
    SpiffeTrustManager verifier = new SpiffeTrustManager(identities, options.allowedClientIds(), clock);
    SslContext sslContext;
    try {
      SslContextBuilder tls = GrpcSslContexts.configure(SslContextBuilder.forServer(new SvidKeyManager(identities)),
              SslProvider.JDK)
          .trustManager(new NonResumingTrustManager(verifier))
          .clientAuth(ClientAuth.REQUIRE)
          .protocols("TLSv1.3", "TLSv1.2")
          .sessionTimeout(SESSION_TIMEOUT_SECONDS)
          .sessionCacheSize(SESSION_CACHE_SIZE);
      sslContext = withoutStatelessTickets(tls);
    } catch (SSLException | RuntimeException e) {
      throw new TransportStartException(FLAG + " " + options.listenAddress()
          + ": this Java runtime cannot set up TLS 1.2/1.3 with ALPN (" + e.getMessage() + "); run Rotor on Java 17 or newer", e);
    }
    NettyServerBuilder builder = NettyServerBuilder.forAddress(address)
        .sslContext(sslContext)
        .maxInboundMessageSize(Transports.MAX_INBOUND_MESSAGE_BYTES)
        .permitKeepAliveTime(Transports.PERMIT_KEEPALIVE_SECONDS, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .intercept(new SpiffeIdAuthorizationInterceptor(options.allowedClientIds(), verifier, listener));
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

  /**
   * Builds {@code tls} with the JDK's stateless session tickets off for the context it creates, and
   * for that context only: the property is read when a context is created, and put back at once.
   * Another context created in the same instant would at worst get its (unused, server-side)
   * tickets turned off too, which is the safe direction.
   */
  private static SslContext withoutStatelessTickets(SslContextBuilder tls) throws SSLException {
    synchronized (TICKET_PROPERTY_LOCK) {
      String before = System.getProperty(SERVER_TICKETS_PROPERTY);
      System.setProperty(SERVER_TICKETS_PROPERTY, "false");
      try {
        return tls.build();
      } finally {
        if (before == null) {
          System.clearProperty(SERVER_TICKETS_PROPERTY);
        } else {
          System.setProperty(SERVER_TICKETS_PROPERTY, before);
        }
      }
    }
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
