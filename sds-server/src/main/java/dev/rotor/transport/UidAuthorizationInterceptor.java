package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.logging.RateLimitedLog;
import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.Set;

/**
 * Serves a call only if the Unix-socket peer's UID is allowed; closes every other call with
 * PERMISSION_DENIED before the service is started, so it never sees a message and never sends a
 * byte of key material. Allowed calls carry the caller in {@link PeerIdentity#current()}.
 *
 * <p>{@link UidConnectionGate} already closed every connection of a UID that is not allowed, so a
 * denial here means the two disagree; it stays as a second check, fail closed, and its log line is
 * rate-limited with the gate's.
 */
final class UidAuthorizationInterceptor implements ServerInterceptor {

  private final Set<Integer> allowedUids;
  private final UidConnectionGate gate;

  /** With a gate of its own, for a server without connection limits (tests). */
  UidAuthorizationInterceptor(Set<Integer> allowedUids) {
    this(allowedUids, new UidConnectionGate(allowedUids, Integer.MAX_VALUE, Integer.MAX_VALUE,
        RateLimitedLog.perSecond()));
  }

  UidAuthorizationInterceptor(Set<Integer> allowedUids, UidConnectionGate gate) {
    this.allowedUids = Set.copyOf(requireNonNull(allowedUids, "allowedUids"));
    this.gate = requireNonNull(gate, "gate");
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
      gate.logDeniedCall(method, "unknown", "the connection carries no peer credentials");
      return Transports.deny(call, "caller has no peer credentials");
    }
    if (!allowedUids.contains(peer.uid())) {
      gate.logDeniedCall(method, peer.describe(), "UID not allowed (allowed: " + allowedUids + ")");
      return Transports.deny(call, "caller UID " + peer.uid() + " is not allowed");
    }
    Context context = Context.current().withValue(PeerContext.PEER_IDENTITY, peer);
    return Contexts.interceptCall(context, call, headers, next);
  }
}
