package dev.rotor.runtime;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.transport.SpiffeTrustManager;
import dev.rotor.transport.SvidKeyManager;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A client of Rotor's TCP listener with mutual TLS, as an Envoy outside the pod would be: it
 * presents an X.509-SVID that the test fetched from the same Rotor over the Unix socket (so it is
 * signed by Rotor's own dev CA) and accepts only Rotor's own SPIFFE ID as the server.
 */
final class TcpClient implements AutoCloseable {

  final Svid svid;
  final ManagedChannel channel;

  private TcpClient(Svid svid, ManagedChannel channel) {
    this.svid = svid;
    this.channel = channel;
  }

  /**
   * Fetches the SVID {@code clientId} and the own bundle from {@code rotor} over the Unix socket,
   * then connects to its TCP listener on {@code port} with that SVID.
   */
  static TcpClient connect(RunningRotor rotor, int port, SpiffeId clientId, SpiffeId rotorId) throws Exception {
    var unix = SecretDiscoveryServiceGrpc.newBlockingStub(rotor.channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    // The plain trusted_ca form, so the bundle is one PEM list.
    Node plainCa = Node.newBuilder().setId("tcp-test-setup").setMetadata(Struct.newBuilder()
        .putFields("disable_spiffe_cert_validation", Value.newBuilder().setBoolValue(true).build())).build();
    DiscoveryResponse r = unix.fetchSecrets(DiscoveryRequest.newBuilder().setNode(plainCa)
        .addResourceNames(clientId.toString()).addResourceNames("ROOTCA").build());
    Secret cert = null;
    Secret bundle = null;
    for (var any : r.getResourcesList()) {
      Secret s = any.unpack(Secret.class);
      if (s.getName().equals("ROOTCA")) {
        bundle = s;
      } else {
        cert = s;
      }
    }
    if (cert == null || bundle == null) {
      throw new AssertionError("Rotor served no SVID " + clientId + " or no ROOTCA over the Unix socket");
    }
    List<X509Certificate> chain = certificates(cert.getTlsCertificate().getCertificateChain().getInlineBytes().toByteArray());
    Svid svid = new Svid(clientId, chain, privateKey(cert.getTlsCertificate().getPrivateKey().getInlineBytes()
        .toString(StandardCharsets.US_ASCII)), "");
    TrustDomain td = clientId.getTrustDomain();
    IdentitySnapshot view = IdentitySnapshot.of(List.of(svid), Map.of(td, TrustBundle.of(td,
        certificates(bundle.getValidationContext().getTrustedCa().getInlineBytes().toByteArray()))));
    ManagedChannel channel = NettyChannelBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
        .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
            .keyManager(new SvidKeyManager(() -> Optional.of(view)))
            .trustManager(new SpiffeTrustManager(() -> Optional.of(view), Set.of(rotorId), Clock.systemUTC()))
            .build())
        .build();
    return new TcpClient(svid, channel);
  }

  static List<X509Certificate> certificates(byte[] pem) throws Exception {
    List<X509Certificate> out = new ArrayList<>();
    for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem))) {
      out.add((X509Certificate) c);
    }
    return out;
  }

  static PrivateKey privateKey(String pem) throws Exception {
    byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
    try {
      return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (java.security.spec.InvalidKeySpecException notEc) {
      return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
    }
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
