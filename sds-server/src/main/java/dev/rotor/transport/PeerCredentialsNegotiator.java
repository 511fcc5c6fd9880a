package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.grpc.Attributes;
import io.grpc.ChannelLogger;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.ProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.PeerCredentials;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A plaintext server negotiator for Unix-socket connections that adds the peer's SO_PEERCRED
 * credentials to the transport attributes ({@link PeerContext#UNIX_PEER}).
 *
 * <p>Why grpc-netty's {@code Internal*} negotiator hooks: transport attributes are fixed when
 * protocol negotiation completes, and the negotiator is the only place that sees both the Netty
 * channel (where {@code peerCredentials()} lives) and those attributes. A {@code
 * ServerTransportFilter} sees the attributes but not the channel; an interceptor sees neither.
 * grpc's own ALTS and xDS negotiators are built the same way from the same public entry points
 * ({@code waitUntilActiveHandler}, {@code grpcNegotiationHandler}, {@code
 * InternalProtocolNegotiationEvent}), so they are as stable as anything grpc exposes here.
 *
 * <p>Pipeline per connection: wait until active (adds local/remote address) → read SO_PEERCRED
 * and ask the {@link UidConnectionGate} (this class) → in node mode, attest the process ({@link
 * PeerAttestor}) → hand the attributes to gRPC's HTTP/2 handler. A connection whose credentials cannot be read, whose UID is not allowed or that is past
 * a connection limit never reaches gRPC: it gets an HTTP/2 GOAWAY saying why and is closed at once,
 * so it holds no HTTP/2 state and no file descriptor (issue 13, finding 5).
 */
final class PeerCredentialsNegotiator implements InternalProtocolNegotiator.ProtocolNegotiator {

  private static final AsciiString SCHEME = AsciiString.of("http");
  /** RFC 9113 §7: grpc-java maps it to PERMISSION_DENIED, so the caller is told the truth. */
  private static final int INADEQUATE_SECURITY = 0xc;
  /** RFC 9113 §7: grpc-java maps it to RESOURCE_EXHAUSTED. */
  private static final int ENHANCE_YOUR_CALM = 0xb;

  /** How long a connection the attestor refused stays open to have its calls answered with why. */
  static final long REFUSED_CONNECTION_GRACE_MILLIS = 1000;

  private final UidConnectionGate gate;
  private final Optional<PeerAttestor> attestor;
  private final AtomicLong connections = new AtomicLong();
  /** Attested connections by number, for {@link #disconnect}; each leaves the map when it closes. */
  private final Map<Long, Channel> attested = new ConcurrentHashMap<>();

  PeerCredentialsNegotiator(UidConnectionGate gate) {
    this(gate, Optional.empty());
  }

  /** With {@code attestor}, each admitted connection is also attested before gRPC sees it (node mode). */
  PeerCredentialsNegotiator(UidConnectionGate gate, Optional<PeerAttestor> attestor) {
    this.gate = requireNonNull(gate, "gate");
    this.attestor = requireNonNull(attestor, "attestor");
  }

  @Override
  public AsciiString scheme() {
    return SCHEME;
  }

  @Override
  public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
    ChannelLogger negotiationLogger = grpcHandler.getNegotiationLogger();
    ChannelHandler toGrpc = InternalProtocolNegotiators.grpcNegotiationHandler(grpcHandler);
    ChannelHandler peerCredentials = new PeerCredentialsHandler(toGrpc, negotiationLogger, gate, attestor, connections,
        attested);
    return InternalProtocolNegotiators.waitUntilActiveHandler(peerCredentials, negotiationLogger);
  }

  @Override
  public void close() {}

  /**
   * Closes the attested connection {@code connection}, if still open, so its client connects and is
   * attested again (node mode: SPIRE changed the identities its workload was attested with).
   */
  boolean disconnect(long connection) {
    Channel c = attested.get(connection);
    if (c == null) {
      return false;
    }
    c.close();
    return true;
  }

  private static final class PeerCredentialsHandler extends InternalProtocolNegotiators.ProtocolNegotiationHandler {

    private final UidConnectionGate gate;
    private final Optional<PeerAttestor> attestor;
    private final AtomicLong connections;
    private final Map<Long, Channel> attested;

    PeerCredentialsHandler(ChannelHandler next, ChannelLogger negotiationLogger, UidConnectionGate gate,
        Optional<PeerAttestor> attestor, AtomicLong connections, Map<Long, Channel> attested) {
      super(next, "PeerCredentials", negotiationLogger);
      this.gate = gate;
      this.attestor = attestor;
      this.connections = connections;
      this.attested = attested;
    }

    @Override
    protected void protocolNegotiationEventTriggered(ChannelHandlerContext ctx) {
      UnixPeer peer;
      try {
        peer = readPeer(ctx);
      } catch (IOException | RuntimeException e) {
        gate.refuseUnknownPeer(e.toString());
        ctx.close();
        return;
      }
      UidConnectionGate.Decision decision = gate.admit(peer);
      if (decision instanceof UidConnectionGate.Refused refused) {
        int code = refused.reason() == UidConnectionGate.Refusal.UID_NOT_ALLOWED ? INADEQUATE_SECURITY : ENHANCE_YOUR_CALM;
        ctx.writeAndFlush(goAway(ctx, code, refused.description())).addListener(ChannelFutureListener.CLOSE);
        return;
      }
      UidConnectionGate.Admitted admitted = (UidConnectionGate.Admitted) decision;
      ctx.channel().closeFuture().addListener(f -> admitted.release());
      if (attestor.isEmpty()) {
        handToGrpc(ctx, peer, null);
      } else {
        attest(ctx, peer, attestor.get());
      }
    }

    /**
     * Node mode: the connection stays unread (the client's first bytes wait in the socket, not in
     * Rotor) until the attestor answers; then it goes on to gRPC with what was attested, or with the
     * refusal its calls are answered with ({@link #refuse}). The process stays open with the connection, so its PID
     * cannot come to mean another process unnoticed ({@link PeerProcess}).
     */
    private void attest(ChannelHandlerContext ctx, UnixPeer peer, PeerAttestor attestor) {
      PeerProcess process;
      try {
        process = PeerProcess.open(peer.pid(), peer.uid(), peer.gid());
      } catch (IOException | RuntimeException e) {
        refuse(ctx, peer, new PeerAttestor.Refused("the calling process cannot be found: " + e.getMessage()));
        return;
      }
      ctx.channel().closeFuture().addListener(f -> process.close());
      ctx.channel().config().setAutoRead(false);
      CompletableFuture<PeerAttestor.Attestation> pending;
      try {
        pending = attestor.attest(peer, process);
      } catch (RuntimeException e) {
        pending = CompletableFuture.failedFuture(e);
      }
      pending.whenComplete((attestation, failure) -> ctx.executor().execute(() -> {
        if (!ctx.channel().isActive()) {
          return; // the caller hung up meanwhile; the close listeners release what it held
        }
        PeerAttestor.Attestation outcome = failure == null ? attestation
            : new PeerAttestor.Unavailable("attestation failed: " + failure);
        if (outcome instanceof PeerAttestor.Attested ok) {
          long number = connections.incrementAndGet();
          attested.put(number, ctx.channel());
          ctx.channel().closeFuture().addListener(f -> attested.remove(number));
          handToGrpc(ctx, peer, new PeerIdentity.AttestedPeer(peer, ok.spiffeIds(), process, number));
          ctx.channel().config().setAutoRead(true); // reads what waited in the socket
        } else {
          refuse(ctx, peer, outcome);
        }
      }));
    }

    /**
     * A connection the attestor did not admit still reaches gRPC, so that its calls are answered with
     * a status the client shows (Envoy logs "gRPC config stream closed: 7, caller not attested: ...")
     * rather than a reset connection: the interceptor refuses every call on it, before any service,
     * with PERMISSION_DENIED (no identity) or UNAVAILABLE (SPIRE could not answer). It is closed
     * {@value #REFUSED_CONNECTION_GRACE_MILLIS} ms later whatever happens, so the client's next try
     * is a new connection, attested afresh (a workload registered meanwhile gets its identity).
     */
    private void refuse(ChannelHandlerContext ctx, UnixPeer peer, PeerAttestor.Attestation outcome) {
      Status status;
      if (outcome instanceof PeerAttestor.Unavailable unavailable) {
        gate.refuseAttestation(peer, UidConnectionGate.Refusal.ATTESTATION_UNAVAILABLE, unavailable.reason());
        status = Status.UNAVAILABLE.withDescription("caller not attested: " + unavailable.reason());
      } else {
        String reason = ((PeerAttestor.Refused) outcome).reason();
        gate.refuseAttestation(peer, UidConnectionGate.Refusal.NOT_ATTESTED, reason);
        status = Status.PERMISSION_DENIED.withDescription("caller not attested: " + reason);
      }
      ctx.executor().schedule(() -> {
        ctx.channel().close();
      }, REFUSED_CONNECTION_GRACE_MILLIS, TimeUnit.MILLISECONDS);
      ProtocolNegotiationEvent event = getProtocolNegotiationEvent();
      Attributes attrs = InternalProtocolNegotiationEvent.getAttributes(event).toBuilder()
          .set(PeerContext.UNIX_PEER, peer)
          .set(PeerContext.REFUSAL, status)
          .build();
      replaceProtocolNegotiationEvent(InternalProtocolNegotiationEvent.withAttributes(event, attrs));
      fireProtocolNegotiationEvent(ctx);
      ctx.channel().config().setAutoRead(true);
    }

    private void handToGrpc(ChannelHandlerContext ctx, UnixPeer peer, PeerIdentity.AttestedPeer attested) {
      ProtocolNegotiationEvent event = getProtocolNegotiationEvent();
      Attributes.Builder attrs = InternalProtocolNegotiationEvent.getAttributes(event).toBuilder()
          .set(PeerContext.UNIX_PEER, peer);
      if (attested != null) {
        attrs.set(PeerContext.ATTESTED_PEER, attested);
      }
      replaceProtocolNegotiationEvent(InternalProtocolNegotiationEvent.withAttributes(event, attrs.build()));
      fireProtocolNegotiationEvent(ctx);
    }

    /**
     * The server's connection preface (an empty SETTINGS frame, which must come first, RFC 9113
     * §3.4) and a GOAWAY for stream 0 with {@code reason} as debug data (§6.8), written straight to
     * the socket: this handler sits in front of gRPC's, which never sees the connection.
     */
    private static ByteBuf goAway(ChannelHandlerContext ctx, int errorCode, String reason) {
      byte[] debug = reason.getBytes(StandardCharsets.UTF_8);
      ByteBuf b = ctx.alloc().buffer(9 + 9 + 8 + debug.length);
      b.writeMedium(0).writeByte(0x4).writeByte(0).writeInt(0); // SETTINGS, no parameters
      b.writeMedium(8 + debug.length).writeByte(0x7).writeByte(0).writeInt(0); // GOAWAY on stream 0
      b.writeInt(0).writeInt(errorCode).writeBytes(debug); // last stream id 0: nothing was processed
      return b;
    }

    private static UnixPeer readPeer(ChannelHandlerContext ctx) throws IOException {
      if (!(ctx.channel() instanceof EpollDomainSocketChannel channel)) {
        throw new IOException("not a Unix domain socket channel: " + ctx.channel().getClass().getName());
      }
      PeerCredentials credentials = channel.peerCredentials();
      int[] gids = credentials.gids();
      return new UnixPeer(credentials.uid(), gids.length > 0 ? gids[0] : -1, credentials.pid());
    }
  }
}
