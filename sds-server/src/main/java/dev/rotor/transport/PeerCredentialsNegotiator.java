package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.grpc.Attributes;
import io.grpc.ChannelLogger;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.ProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.PeerCredentials;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

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
 * and ask the {@link UidConnectionGate} (this class) → hand the attributes to gRPC's HTTP/2
 * handler. A connection whose credentials cannot be read, whose UID is not allowed or that is past
 * a connection limit never reaches gRPC: it gets an HTTP/2 GOAWAY saying why and is closed at once,
 * so it holds no HTTP/2 state and no file descriptor (issue 13, finding 5).
 */
final class PeerCredentialsNegotiator implements InternalProtocolNegotiator.ProtocolNegotiator {

  private static final AsciiString SCHEME = AsciiString.of("http");
  /** RFC 9113 §7: grpc-java maps it to PERMISSION_DENIED, so the caller is told the truth. */
  private static final int INADEQUATE_SECURITY = 0xc;
  /** RFC 9113 §7: grpc-java maps it to RESOURCE_EXHAUSTED. */
  private static final int ENHANCE_YOUR_CALM = 0xb;

  private final UidConnectionGate gate;

  PeerCredentialsNegotiator(UidConnectionGate gate) {
    this.gate = requireNonNull(gate, "gate");
  }

  @Override
  public AsciiString scheme() {
    return SCHEME;
  }

  @Override
  public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
    ChannelLogger negotiationLogger = grpcHandler.getNegotiationLogger();
    ChannelHandler toGrpc = InternalProtocolNegotiators.grpcNegotiationHandler(grpcHandler);
    ChannelHandler peerCredentials = new PeerCredentialsHandler(toGrpc, negotiationLogger, gate);
    return InternalProtocolNegotiators.waitUntilActiveHandler(peerCredentials, negotiationLogger);
  }

  @Override
  public void close() {}

  private static final class PeerCredentialsHandler extends InternalProtocolNegotiators.ProtocolNegotiationHandler {

    private final UidConnectionGate gate;

    PeerCredentialsHandler(ChannelHandler next, ChannelLogger negotiationLogger, UidConnectionGate gate) {
      super(next, "PeerCredentials", negotiationLogger);
      this.gate = gate;
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
      ProtocolNegotiationEvent event = getProtocolNegotiationEvent();
      Attributes attrs = InternalProtocolNegotiationEvent.getAttributes(event).toBuilder()
          .set(PeerContext.UNIX_PEER, peer)
          .build();
      replaceProtocolNegotiationEvent(InternalProtocolNegotiationEvent.withAttributes(event, attrs));
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
