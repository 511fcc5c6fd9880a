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
 * Serves a call only if the Unix-socket peer's UID is allowed (and, in node mode, its connection
 * was attested: {@link PeerAttestor}); closes every other call with
 * PERMISSION_DENIED before the service is started, so it never sees a message and never sends a
 * byte of key material. Allowed calls carry the caller in {@link PeerIdentity#current()}.
 *
 * <p>{@link UidConnectionGate} already closed every connection of a UID that is not allowed, so a
 * denial here means the two disagree; it stays as a second check, fail closed, and its log line is
 * rate-limited with the gate's.
 */
final class UidAuthorizationInterceptor implements ServerInterceptor {

  private final AllowedUids allowedUids;
  private final UidConnectionGate gate;
  private final boolean attested;

  /** With a gate of its own, for a server without connection limits (tests). */
  UidAuthorizationInterceptor(Set<Integer> allowedUids) {
    this(AllowedUids.only(allowedUids), new UidConnectionGate(allowedUids, Integer.MAX_VALUE, Integer.MAX_VALUE,
        RateLimitedLog.perSecond()), false);
  }

  /**
   * @param attested true when every connection must have been attested ({@link PeerAttestor}): a
   *     call on one that was not is refused, and the caller is the attested peer
   */
  UidAuthorizationInterceptor(AllowedUids allowedUids, UidConnectionGate gate, boolean attested) {
    this.allowedUids = requireNonNull(allowedUids, "allowedUids");
    this.gate = requireNonNull(gate, "gate");
    this.attested = attested;
    if (allowedUids instanceof AllowedUids.Any && !attested) {
      // Fail closed: "any UID" is only safe where SPIRE decides what each caller is.
      throw new IllegalArgumentException("allowedUids: any (expected: a list of UIDs unless callers are attested)");
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
    if (!allowedUids.allows(peer.uid())) {
      gate.logDeniedCall(method, peer.describe(), "UID not allowed (allowed: " + allowedUids + ")");
      return Transports.deny(call, "caller UID " + peer.uid() + " is not allowed");
    }
    PeerIdentity who = peer;
    if (attested) {
      io.grpc.Status refusal = call.getAttributes().get(PeerContext.REFUSAL);
      if (refusal != null) {
        call.close(refusal, new io.grpc.Metadata()); // the negotiator already logged and counted it
        return new ServerCall.Listener<>() {};
      }
      PeerIdentity.AttestedPeer attestedPeer = call.getAttributes().get(PeerContext.ATTESTED_PEER);
      if (attestedPeer == null) {
        gate.logDeniedCall(method, peer.describe(), "the connection was not attested");
        return Transports.deny(call, "caller not attested");
      }
      who = attestedPeer;
    }
    Context context = Context.current().withValue(PeerContext.PEER_IDENTITY, who);
    return Contexts.interceptCall(context, call, headers, next);
  }
}
