package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a call only if the Unix-socket peer's UID is allowed; closes every other call with
 * PERMISSION_DENIED before the service is started, so it never sees a message and never sends a
 * byte of key material. Allowed calls carry the caller in {@link PeerIdentity#current()}.
 */
final class UidAuthorizationInterceptor implements ServerInterceptor {

  private static final Logger log = LoggerFactory.getLogger(UidAuthorizationInterceptor.class);

  private final Set<Integer> allowedUids;

  UidAuthorizationInterceptor(Set<Integer> allowedUids) {
    this.allowedUids = Set.copyOf(requireNonNull(allowedUids, "allowedUids"));
    if (this.allowedUids.isEmpty()) {
      throw new IllegalArgumentException("allowedUids: empty (expected: at least one UID)");
    }
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    UnixPeer peer = call.getAttributes().get(PeerContext.UNIX_PEER);
    if (peer == null) {
      // Only possible if the transport was set up without PeerCredentialsNegotiator: fail closed.
      log.warn("denied {}: the connection carries no peer credentials", method);
      return Transports.deny(call, "caller has no peer credentials");
    }
    if (!allowedUids.contains(peer.uid())) {
      log.warn("denied {} to {}: UID not allowed (allowed: {})", method, peer.describe(), allowedUids);
      return Transports.deny(call, "caller UID " + peer.uid() + " is not allowed");
    }
    Context context = Context.current().withValue(PeerContext.PEER_IDENTITY, peer);
    return Contexts.interceptCall(context, call, headers, next);
  }
}
