package dev.rotor.transport;

import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.grpc.Attributes;
import io.grpc.ChannelLogger;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.ProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.PeerCredentials;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * (this class) → hand the attributes to gRPC's HTTP/2 handler. If the credentials cannot be read,
 * the connection is closed: a caller whose UID is unknown is never served.
 */
final class PeerCredentialsNegotiator implements InternalProtocolNegotiator.ProtocolNegotiator {

  private static final Logger log = LoggerFactory.getLogger(PeerCredentialsNegotiator.class);
  private static final AsciiString SCHEME = AsciiString.of("http");

  @Override
  public AsciiString scheme() {
    return SCHEME;
  }

  @Override
  public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
    ChannelLogger negotiationLogger = grpcHandler.getNegotiationLogger();
    ChannelHandler toGrpc = InternalProtocolNegotiators.grpcNegotiationHandler(grpcHandler);
    ChannelHandler peerCredentials = new PeerCredentialsHandler(toGrpc, negotiationLogger);
    return InternalProtocolNegotiators.waitUntilActiveHandler(peerCredentials, negotiationLogger);
  }

  @Override
  public void close() {}

  private static final class PeerCredentialsHandler extends InternalProtocolNegotiators.ProtocolNegotiationHandler {

    PeerCredentialsHandler(ChannelHandler next, ChannelLogger negotiationLogger) {
      super(next, "PeerCredentials", negotiationLogger);
    }

    @Override
    protected void protocolNegotiationEventTriggered(ChannelHandlerContext ctx) {
      UnixPeer peer;
      try {
        peer = readPeer(ctx);
      } catch (IOException | RuntimeException e) {
        log.warn("closing a Unix-socket connection: cannot read its peer credentials (SO_PEERCRED): {}", e.toString());
        ctx.close();
        return;
      }
      ProtocolNegotiationEvent event = getProtocolNegotiationEvent();
      Attributes attrs = InternalProtocolNegotiationEvent.getAttributes(event).toBuilder()
          .set(PeerContext.UNIX_PEER, peer)
          .build();
      replaceProtocolNegotiationEvent(InternalProtocolNegotiationEvent.withAttributes(event, attrs));
      fireProtocolNegotiationEvent(ctx);
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
