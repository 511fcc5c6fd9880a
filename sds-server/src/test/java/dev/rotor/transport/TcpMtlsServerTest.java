package dev.rotor.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.transport.PeerIdentity.SpiffePeer;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.spiffe.spiffeid.SpiffeId;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TcpMtlsServerTest {

  /** Fixed for the server's trust manager; close to wall time so the JDK's own TLS code agrees. */
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  private final TestCa ca = TestCa.create("rotor.test", NOW);
  private final SpiffeId serverId = SpiffeId.parse("spiffe://rotor.test/rotor");
  private final SpiffeId envoyId = SpiffeId.parse("spiffe://rotor.test/envoy");
  private final AtomicReference<Optional<IdentitySnapshot>> serverIdentities =
      new AtomicReference<>(Optional.of(TestCa.snapshot(valid(serverId), ca.bundle())));
  private final FakeSecretService service = new FakeSecretService();
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final LogCapture rejections = new LogCapture(SpiffeTrustManager.class);

  @AfterEach
  void tearDown() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
    rejections.close();
  }

  @Test
  void allowedClient_callSucceeds_andServiceSeesItsSpiffeId() throws Exception {
    TcpMtlsServer server = start(Set.of(envoyId));

    DiscoveryResponse response = new Client(valid(envoyId)).fetch(server.port());

    assertThat(FakeSecretService.secretName(response)).isEqualTo(FakeSecretService.MARKER);
    assertThat(service.lastCaller.get()).isEqualTo(new SpiffePeer(envoyId));
  }

  @Test
  void tls12Client_isServedToo() throws Exception {
    // Envoy's client side defaults to a TLS 1.2 maximum.
    TcpMtlsServer server = start(Set.of(envoyId));
    Client client = new Client(valid(envoyId));
    client.protocols = new String[] {"TLSv1.2"};

    assertThat(FakeSecretService.secretName(client.fetch(server.port()))).isEqualTo(FakeSecretService.MARKER);
    assertThat(service.lastCaller.get()).isEqualTo(new SpiffePeer(envoyId));
  }

  @Test
  void clientWithoutCertificate_isRejected() throws Exception {
    TcpMtlsServer server = start(Set.of(envoyId));

    assertRejected(() -> new Client(null).fetch(server.port()));
    assertThat(rejections.messages()).isEmpty(); // the JDK refuses an empty chain before asking us
  }

  @Test
  void clientWithExpiredCertificate_isRejected() throws Exception {
    TcpMtlsServer server = start(Set.of(envoyId));
    Svid expired = ca.issue(envoyId, NOW.minus(2, ChronoUnit.HOURS), NOW.minus(1, ChronoUnit.HOURS));

    assertRejected(() -> new Client(expired).fetch(server.port()));
    assertServerRejected("certificate of " + envoyId + " does not verify against the bundle of rotor.test");
  }

  @Test
  void clientFromAnotherTrustDomain_isRejected() throws Exception {
    TestCa other = TestCa.create("other.test", NOW);
    SpiffeId stranger = SpiffeId.parse("spiffe://other.test/envoy");
    TcpMtlsServer server = start(Set.of(envoyId, stranger));

    assertRejected(() -> new Client(other.issue(stranger, NOW.minusSeconds(60), NOW.plusSeconds(3600))).fetch(server.port()));
    assertServerRejected("no trust bundle for trust domain other.test");
  }

  @Test
  void validClientNotOnTheAllowList_isRejected() throws Exception {
    TcpMtlsServer server = start(Set.of(envoyId));

    assertRejected(() -> new Client(valid(SpiffeId.parse("spiffe://rotor.test/someone-else"))).fetch(server.port()));
    assertServerRejected("spiffe://rotor.test/someone-else is not an allowed peer");
  }

  @Test
  void afterServerSvidRotation_aNewConnectionSeesTheNewCertificate() throws Exception {
    TcpMtlsServer server = start(Set.of(envoyId));
    Client first = new Client(valid(envoyId));
    first.fetch(server.port());
    BigInteger firstSerial = first.serverLeaf.get().getSerialNumber();

    Svid rotated = valid(serverId);
    serverIdentities.set(Optional.of(TestCa.snapshot(rotated, ca.bundle())));
    Client second = new Client(valid(envoyId));
    second.fetch(server.port());

    assertThat(second.serverLeaf.get().getSerialNumber()).isEqualTo(rotated.serial()).isNotEqualTo(firstSerial);
  }

  @Test
  void withoutServerSvid_handshakesFail_untilOneArrives() throws Exception {
    Optional<IdentitySnapshot> later = serverIdentities.getAndSet(Optional.empty());
    TcpMtlsServer server = start(Set.of(envoyId));

    assertRejected(() -> new Client(valid(envoyId)).fetch(server.port()));

    serverIdentities.set(later);
    assertThat(FakeSecretService.secretName(new Client(valid(envoyId)).fetch(server.port())))
        .isEqualTo(FakeSecretService.MARKER);
  }

  @Test
  void portInUse_isRefusedNamingTheFlag() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();

      assertThatThrownBy(() -> TcpMtlsServer.start(
              new TcpMtlsOptions("127.0.0.1", port, Set.of(envoyId)), serverIdentities::get,
              List.of(service.bindService()), CLOCK))
          .isInstanceOf(TransportStartException.class)
          .hasMessage("--tcp-listen 127.0.0.1:" + port
              + ": address already in use; stop the process that listens there or choose another port");
    }
  }

  @Test
  void options_listenAddress_bracketsIpv6() {
    assertThat(new TcpMtlsOptions("::1", 8443, Set.of(envoyId)).listenAddress()).isEqualTo("[::1]:8443");
    assertThat(new TcpMtlsOptions("0.0.0.0", 8443, Set.of(envoyId)).listenAddress()).isEqualTo("0.0.0.0:8443");
  }

  @Test
  void options_rejectEmptyAllowList() {
    assertThatThrownBy(() -> new TcpMtlsOptions("127.0.0.1", 0, Set.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("allowedClientIds: empty");
  }

  private void assertRejected(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(service.fetches).hasValue(0);
  }

  /** The server's trust manager logged a rejection for this reason (logged before the alert is sent). */
  private void assertServerRejected(String reason) {
    assertThat(rejections.messages()).anySatisfy(m -> assertThat(m).startsWith("rejected TLS client: ").contains(reason));
  }

  private TcpMtlsServer start(Set<SpiffeId> allowed) throws TransportStartException {
    TcpMtlsServer server = TcpMtlsServer.start(
        new TcpMtlsOptions("127.0.0.1", 0, allowed), serverIdentities::get, List.of(service.bindService()), CLOCK);
    cleanup.add(server);
    return server;
  }

  private Svid valid(SpiffeId id) {
    return ca.issue(id, NOW.minusSeconds(60), NOW.plusSeconds(3600));
  }

  /**
   * A test client on a fresh TLS context (so no session is resumed) that presents {@code svid}
   * (none if null) and accepts only the server ID, verified against the test CA.
   */
  private final class Client {
    final AtomicReference<X509Certificate> serverLeaf = new AtomicReference<>();
    private final Svid svid;
    String[] protocols = {"TLSv1.3", "TLSv1.2"};

    Client(Svid svid) {
      this.svid = svid;
    }

    DiscoveryResponse fetch(int port) throws Exception {
      IdentitySnapshot view = svid == null
          ? IdentitySnapshot.of(List.of(), Map.of(ca.trustDomain, ca.bundle()))
          : TestCa.snapshot(svid, ca.bundle());
      SslContextBuilder tls = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
          .protocols(protocols)
          .trustManager(new RecordingTrustManager(
              new SpiffeTrustManager(() -> Optional.of(view), Set.of(serverId), CLOCK), serverLeaf));
      if (svid != null) {
        tls.keyManager(new SvidKeyManager(() -> Optional.of(view)));
      }
      ManagedChannel channel = NettyChannelBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
          .sslContext(tls.build())
          .build();
      cleanup.add(() -> {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
      });
      return SecretDiscoveryServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .fetchSecrets(DiscoveryRequest.newBuilder().addResourceNames("default").build());
    }
  }

  /** Verifies like its delegate, and remembers the server leaf it accepted. */
  private static final class RecordingTrustManager extends X509ExtendedTrustManager {
    private final SpiffeTrustManager delegate;
    private final AtomicReference<X509Certificate> serverLeaf;

    RecordingTrustManager(SpiffeTrustManager delegate, AtomicReference<X509Certificate> serverLeaf) {
      this.delegate = delegate;
      this.serverLeaf = serverLeaf;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      delegate.checkServerTrusted(chain, authType, engine);
      serverLeaf.set(chain[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      delegate.checkServerTrusted(chain, authType, socket);
      serverLeaf.set(chain[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
      serverLeaf.set(chain[0]);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      throw new CertificateException("test client does not accept clients");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      throw new CertificateException("test client does not accept clients");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("test client does not accept clients");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
