package dev.rotor.cli;

import com.google.protobuf.ByteString;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload.JWTBundlesRequest;
import io.spiffe.workloadapi.grpc.Workload.JWTBundlesResponse;
import io.spiffe.workloadapi.grpc.Workload.JWTSVID;
import io.spiffe.workloadapi.grpc.Workload.JWTSVIDRequest;
import io.spiffe.workloadapi.grpc.Workload.JWTSVIDResponse;
import io.spiffe.workloadapi.grpc.Workload.X509SVID;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDRequest;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;

/**
 * A minimal SPIRE agent for command tests: serves one X509SVID response on a real Unix socket to
 * every FetchX509SVID stream and keeps the stream open; optionally one JWT-SVID and one JWT bundle.
 */
final class UnixSocketAgent implements AutoCloseable {

  private final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private final Server server;

  UnixSocketAgent(Path socket, Svid svid, TrustBundle bundle) throws IOException {
    this(socket, svid, bundle, null);
  }

  /** Also answers FetchJWTSVID with {@code jwtToken} and FetchJWTBundles with one JWKS, when given. */
  UnixSocketAgent(Path socket, Svid svid, TrustBundle bundle, String jwtToken) throws IOException {
    X509SVIDResponse response = X509SVIDResponse.newBuilder().addSvids(X509SVID.newBuilder()
        .setSpiffeId(svid.spiffeId().toString())
        .setX509Svid(der(svid.chain().toArray(new X509Certificate[0])))
        .setX509SvidKey(ByteString.copyFrom(svid.privateKey().getEncoded()))
        .setBundle(der(bundle.authorities().toArray(new X509Certificate[0])))
        .build()).build();
    server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .bossEventLoopGroup(loop)
        .workerEventLoopGroup(loop)
        .channelType(EpollServerDomainSocketChannel.class)
        .withChildOption(ChannelOption.SO_KEEPALIVE, null)
        .addService(new SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase() {
          @Override
          public void fetchX509SVID(X509SVIDRequest request, StreamObserver<X509SVIDResponse> out) {
            out.onNext(response);
          }

          @Override
          public void fetchJWTSVID(JWTSVIDRequest request, StreamObserver<JWTSVIDResponse> out) {
            out.onNext(JWTSVIDResponse.newBuilder().addSvids(JWTSVID.newBuilder()
                .setSpiffeId(svid.spiffeId().toString()).setSvid(jwtToken)).build());
            out.onCompleted();
          }

          @Override
          public void fetchJWTBundles(JWTBundlesRequest request, StreamObserver<JWTBundlesResponse> out) {
            out.onNext(JWTBundlesResponse.newBuilder()
                .putBundles(svid.spiffeId().getTrustDomain().getName(), ByteString.copyFromUtf8("{\"keys\":[]}"))
                .build());
          }
        })
        .build()
        .start();
  }

  /** A JWT-SVID as SPIRE makes them (ES256, sub = SPIFFE ID), signed by a throw-away key. */
  static String jwt(String spiffeId, String audience, java.time.Instant expiry) throws Exception {
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
    com.nimbusds.jwt.SignedJWT jwt = new com.nimbusds.jwt.SignedJWT(
        new com.nimbusds.jose.JWSHeader.Builder(com.nimbusds.jose.JWSAlgorithm.ES256)
            .type(com.nimbusds.jose.JOSEObjectType.JWT).keyID("k1").build(),
        new com.nimbusds.jwt.JWTClaimsSet.Builder().subject(spiffeId).audience(audience)
            .expirationTime(java.util.Date.from(expiry)).issueTime(new java.util.Date()).build());
    jwt.sign(new com.nimbusds.jose.crypto.ECDSASigner(
        (java.security.interfaces.ECPrivateKey) g.generateKeyPair().getPrivate()));
    return jwt.serialize();
  }

  private static ByteString der(X509Certificate... certs) {
    ByteString out = ByteString.EMPTY;
    for (X509Certificate c : certs) {
      try {
        out = out.concat(ByteString.copyFrom(c.getEncoded()));
      } catch (CertificateEncodingException e) {
        throw new IllegalStateException(e);
      }
    }
    return out;
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
  }
}
