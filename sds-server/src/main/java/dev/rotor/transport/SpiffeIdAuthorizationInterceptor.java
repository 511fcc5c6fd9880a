package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.transport.PeerIdentity.SpiffePeer;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.spiffe.spiffeid.SpiffeId;
import java.security.cert.CertificateException;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the mTLS client's SPIFFE ID to services ({@link PeerIdentity#current()}), and checks the
 * client once more for every call. {@link SpiffeTrustManager} refused the handshake of anyone not
 * on the list, but a connection lives long and carries many calls: this check verifies the peer's
 * chain again against the bundles and time of now ({@link VerifiedChain}), so a certificate that
 * expired, or whose CA left the bundle, since the handshake gets no new call (fail closed at the
 * edge that hands out key material).
 */
final class SpiffeIdAuthorizationInterceptor implements ServerInterceptor {

  private static final Logger log = LoggerFactory.getLogger(SpiffeIdAuthorizationInterceptor.class);

  /** What a caller whose certificate no longer verifies is told; the reason goes to the log only. */
  static final Status LAPSED = Status.UNAUTHENTICATED.withDescription(
      "client certificate no longer valid (expired, or its CA left the trust bundle); reconnect with a current SVID");

  private final Set<SpiffeId> allowedClientIds;
  private final SpiffeTrustManager verifier;
  private final TcpMtlsServer.Listener listener;

  SpiffeIdAuthorizationInterceptor(Set<SpiffeId> allowedClientIds, SpiffeTrustManager verifier,
      TcpMtlsServer.Listener listener) {
    this.allowedClientIds = Set.copyOf(requireNonNull(allowedClientIds, "allowedClientIds"));
    if (this.allowedClientIds.isEmpty()) {
      throw new IllegalArgumentException("allowedClientIds: empty (expected: at least one SPIFFE ID)");
    }
    this.verifier = requireNonNull(verifier, "verifier");
    this.listener = requireNonNull(listener, "listener");
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    VerifiedChain chain;
    SpiffeId id;
    try {
      chain = chainOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
      id = SvidCertificates.spiffeIdOf(chain.leaf());
    } catch (CertificateException | SSLPeerUnverifiedException e) {
      log.warn("denied {}: no verified client SVID ({})", method, e.getMessage());
      return Transports.deny(call, "caller has no verified SPIFFE ID");
    }
    if (!allowedClientIds.contains(id)) {
      log.warn("denied {} to {}: SPIFFE ID not allowed", method, id);
      return Transports.deny(call, "caller " + id + " is not allowed");
    }
    Optional<String> lapsed = chain.recheck();
    if (lapsed.isPresent()) {
      log.warn("denied {} to {}: its certificate no longer verifies ({})", method, id, lapsed.get());
      listener.credentialsLapsed(id);
      call.close(LAPSED, new Metadata());
      return new ServerCall.Listener<>() {};
    }
    Context context = Context.current().withValue(PeerContext.PEER_IDENTITY, new SpiffePeer(id, chain));
    return Contexts.interceptCall(context, call, headers, next);
  }

  private VerifiedChain chainOf(SSLSession session) throws CertificateException, SSLPeerUnverifiedException {
    if (session == null) {
      throw new CertificateException("not a TLS connection");
    }
    return VerifiedChain.of(session, verifier);
  }
}
