package dev.rotor.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Attributes;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerTransportFilter;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.spiffe.spiffeid.SpiffeId;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The per-call authorization of both transports, on an in-process server whose transport
 * attributes the test sets: what each interceptor does with a given peer, without sockets.
 */
class AuthorizationInterceptorsTest {

  private final FakeSecretService service = new FakeSecretService();
  private Server server;
  private ManagedChannel channel;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void uid_allowed_isServedWithThePeerInContext() throws Exception {
    UnixPeer peer = new UnixPeer(1000, 1000, 4321);

    call(new UidAuthorizationInterceptor(Set.of(1000)), Attributes.newBuilder().set(PeerContext.UNIX_PEER, peer).build());

    assertThat(service.lastCaller.get()).isEqualTo(peer);
    assertThat(PeerIdentity.current()).isEmpty(); // outside a call
  }

  @Test
  void uid_notAllowed_isDeniedBeforeTheService() {
    Attributes attrs = Attributes.newBuilder().set(PeerContext.UNIX_PEER, new UnixPeer(1001, 1001, 1)).build();

    assertDenied(() -> call(new UidAuthorizationInterceptor(Set.of(1000)), attrs), "caller UID 1001 is not allowed");
  }

  @Test
  void uid_missingPeerCredentials_isDenied() {
    assertDenied(() -> call(new UidAuthorizationInterceptor(Set.of(0)), Attributes.EMPTY), "caller has no peer credentials");
  }

  @Test
  void spiffeId_noTlsSession_isDenied() {
    Set<SpiffeId> allowed = Set.of(SpiffeId.parse("spiffe://rotor.test/envoy"));
    ServerInterceptor interceptor = new SpiffeIdAuthorizationInterceptor(allowed,
        new SpiffeTrustManager(java.util.Optional::empty, allowed, java.time.Clock.systemUTC()),
        TcpMtlsServer.Listener.NONE);

    assertDenied(() -> call(interceptor, Attributes.EMPTY), "caller has no verified SPIFFE ID");
  }

  private void assertDenied(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String description) {
    assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(e.getStatus().getDescription()).isEqualTo(description);
    });
    assertThat(service.fetches).hasValue(0);
  }

  private void call(ServerInterceptor interceptor, Attributes peerAttributes) throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name)
        .directExecutor()
        .addService(ServerInterceptors.intercept(service, interceptor))
        .addTransportFilter(new ServerTransportFilter() {
          @Override
          public Attributes transportReady(Attributes attrs) {
            return attrs.toBuilder().setAll(peerAttributes).build();
          }
        })
        .build()
        .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    SecretDiscoveryServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .fetchSecrets(DiscoveryRequest.getDefaultInstance());
  }
}
