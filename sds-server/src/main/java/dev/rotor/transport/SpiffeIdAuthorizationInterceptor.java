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
import io.spiffe.spiffeid.SpiffeId;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands the mTLS client's SPIFFE ID to services ({@link PeerIdentity#current()}), and checks the
 * allow-list once more per call. {@link SpiffeTrustManager} already refused the handshake of
 * anyone not on the list; this second check keeps a call from being served should the TLS setup
 * ever change (fail closed at the edge that hands out key material).
 */
final class SpiffeIdAuthorizationInterceptor implements ServerInterceptor {

  private static final Logger log = LoggerFactory.getLogger(SpiffeIdAuthorizationInterceptor.class);

  private final Set<SpiffeId> allowedClientIds;

  SpiffeIdAuthorizationInterceptor(Set<SpiffeId> allowedClientIds) {
    this.allowedClientIds = Set.copyOf(requireNonNull(allowedClientIds, "allowedClientIds"));
    if (this.allowedClientIds.isEmpty()) {
      throw new IllegalArgumentException("allowedClientIds: empty (expected: at least one SPIFFE ID)");
    }
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    SpiffeId id;
    try {
      id = peerSpiffeId(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    } catch (CertificateException | SSLPeerUnverifiedException e) {
      log.warn("denied {}: no verified client SVID ({})", method, e.getMessage());
      return Transports.deny(call, "caller has no verified SPIFFE ID");
    }
    if (!allowedClientIds.contains(id)) {
      log.warn("denied {} to {}: SPIFFE ID not allowed", method, id);
      return Transports.deny(call, "caller " + id + " is not allowed");
    }
    Context context = Context.current().withValue(PeerContext.PEER_IDENTITY, new SpiffePeer(id));
    return Contexts.interceptCall(context, call, headers, next);
  }

  private static SpiffeId peerSpiffeId(SSLSession session) throws CertificateException, SSLPeerUnverifiedException {
    if (session == null) {
      throw new CertificateException("not a TLS connection");
    }
    Certificate[] chain = session.getPeerCertificates();
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      throw new CertificateException("no X.509 client certificate");
    }
    return SvidCertificates.spiffeIdOf(leaf);
  }
}
