package dev.rotor.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Pem;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.testing.FakeScheduler;
import dev.rotor.transport.PeerIdentity.SpiffePeer;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TcpMtlsServerTest {

  /** Fixed for the server's trust manager; close to wall time so the JDK's own TLS code agrees. */
  private static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.SECONDS);
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final SpiffeId PARTNER_ID = SpiffeId.parse("spiffe://partner.test/envoy");

  private final TestCa ca = TestCa.create("rotor.test", NOW);
  private final SpiffeId serverId = SpiffeId.parse("spiffe://rotor.test/rotor");
  private final SpiffeId envoyId = SpiffeId.parse("spiffe://rotor.test/envoy");
  private final AtomicReference<Optional<IdentitySnapshot>> serverIdentities =
      new AtomicReference<>(Optional.of(TestCa.snapshot(valid(serverId), ca.bundle())));
  private final FakeSecretService service = new FakeSecretService();
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final LogCapture rejections = new LogCapture(SpiffeTrustManager.class);
  /** The server's time; tests move it to make a client certificate expire. */
  private final FakeScheduler serverTime = new FakeScheduler(NOW);

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
    assertThat(service.lastCaller.get()).isInstanceOfSatisfying(SpiffePeer.class,
        p -> assertThat(p.spiffeId()).isEqualTo(envoyId));
  }

  @Test
  void tls12Client_isServedToo() throws Exception {
    // Envoy's client side defaults to a TLS 1.2 maximum.
    TcpMtlsServer server = start(Set.of(envoyId));
    Client client = new Client(valid(envoyId));
    client.protocols = new String[] {"TLSv1.2"};

    assertThat(FakeSecretService.secretName(client.fetch(server.port()))).isEqualTo(FakeSecretService.MARKER);
    assertThat(service.lastCaller.get()).isInstanceOfSatisfying(SpiffePeer.class,
        p -> assertThat(p.spiffeId()).isEqualTo(envoyId));
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

  // ---- issue 13, finding 2: resumption must never skip the certificate checks ----

  @Test
  void secondConnectionFromTheSameClientContext_isAFullHandshake_tls13() throws Exception {
    assertEveryConnectionIsAFullHandshake(new String[] {"TLSv1.3"});
  }

  @Test
  void secondConnectionFromTheSameClientContext_isAFullHandshake_tls12() throws Exception {
    assertEveryConnectionIsAFullHandshake(new String[] {"TLSv1.2"});
  }

  /**
   * A JDK client offers to resume (session ticket or session id) on every new connection to the
   * same host and port from one context; a full handshake is one where the client checks the
   * server's certificate again.
   */
  private void assertEveryConnectionIsAFullHandshake(String[] protocols) throws Exception {
    TcpMtlsServer server = start(Set.of(envoyId));
    Client client = new Client(valid(envoyId));
    client.protocols = protocols;

    for (int i = 1; i <= 3; i++) {
      client.fetch(server.port());
      assertThat(client.serverChecks).as("server certificate checks after connection " + i).hasValue(i);
    }
  }

  /**
   * OpenSSL (like BoringSSL, Envoy's) offers a TLS 1.2 session ticket and requires the ticket a
   * server promises: the handshake must complete, and the session id it got must not be resumed.
   */
  @Test
  void opensslTls12Client_completesEveryHandshake_andNeverResumes(@TempDir Path dir) throws Exception {
    Optional<Path> openssl = onPath("openssl");
    assumeTrue(openssl.isPresent(), "openssl is not installed");
    TcpMtlsServer server = start(Set.of(envoyId));
    Svid svid = valid(envoyId);
    Files.write(dir.resolve("client.pem"), Pem.certificates(svid.chain()));
    Files.write(dir.resolve("client.key"), Pem.privateKey(svid.privateKey()));
    Files.write(dir.resolve("ca.pem"), Pem.certificates(List.of(ca.certificate)));
    Path session = dir.resolve("session.pem");

    String first = sClient(openssl.get(), dir, server.port(), "-sess_out", session.toString());
    assertThat(first).as("first handshake").contains("New, TLSv1.2");
    assertThat(session).as("the session OpenSSL would resume").isNotEmptyFile();
    for (int i = 2; i <= 3; i++) {
      assertThat(sClient(openssl.get(), dir, server.port(), "-sess_in", session.toString()))
          .as("handshake %d offering the first session", i).contains("New, TLSv1.2").doesNotContain("Reused");
    }
  }

  private static String sClient(Path openssl, Path dir, int port, String... more) throws Exception {
    List<String> command = new ArrayList<>(List.of(openssl.toString(), "s_client", "-connect", "127.0.0.1:" + port,
        "-tls1_2", "-alpn", "h2", "-cert", dir.resolve("client.pem").toString(), "-key",
        dir.resolve("client.key").toString(), "-CAfile", dir.resolve("ca.pem").toString()));
    command.addAll(List.of(more));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
        new java.io.File("/dev/null"))).start();
    byte[] out = p.getInputStream().readAllBytes(); // s_client ends when the handshake is done and stdin is empty
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("openssl s_client did not finish within 10 s");
    }
    return new String(out, java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  private static Optional<Path> onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      Path candidate = Path.of(dir, program);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  @Test
  void clientWhoseCertificateExpired_cannotResumeTheSessionOfItsEarlierConnection() throws Exception {
    TcpMtlsServer server = start(Set.of(envoyId));
    Svid shortLived = ca.issue(envoyId, NOW.minusSeconds(60), NOW.plusSeconds(30));
    Client client = new Client(shortLived);
    client.fetch(server.port());

    serverTime.advance(Duration.ofSeconds(90)); // the client's certificate expired 60 s ago

    assertThatThrownBy(() -> client.fetch(server.port())).isInstanceOf(StatusRuntimeException.class);
    assertThat(service.fetches).as("calls served").hasValue(1);
  }

  @Test
  void clientWhoseCaLeftTheBundle_cannotResumeTheSessionOfItsEarlierConnection() throws Exception {
    TcpMtlsServer server = start(Set.of(PARTNER_ID));
    Client client = partnerClient();
    client.fetch(server.port());

    serverIdentities.set(Optional.of(TestCa.snapshot(valid(serverId), ca.bundle()))); // federation ended

    assertThatThrownBy(() -> client.fetch(server.port())).isInstanceOf(StatusRuntimeException.class);
    assertThat(service.fetches).as("calls served").hasValue(1);
  }

  @Test
  void newCallOnAnOpenConnection_afterTheClientCertificateExpired_isRefused() throws Exception {
    TcpMtlsServer server = start(Set.of(envoyId));
    Client client = new Client(ca.issue(envoyId, NOW.minusSeconds(60), NOW.plusSeconds(30)));
    client.reuseChannel = true;
    client.fetch(server.port());

    serverTime.advance(Duration.ofSeconds(90));

    assertThatThrownBy(() -> client.fetch(server.port()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThat(client.serverChecks).as("one handshake: the same connection").hasValue(1);
    assertThat(service.fetches).as("calls served").hasValue(1);
  }

  @Test
  void newCallOnAnOpenConnection_afterItsCaLeftTheBundle_isRefused() throws Exception {
    TcpMtlsServer server = start(Set.of(PARTNER_ID));
    Client client = partnerClient();
    client.reuseChannel = true;
    client.fetch(server.port());

    serverIdentities.set(Optional.of(TestCa.snapshot(valid(serverId), ca.bundle())));

    assertThatThrownBy(() -> client.fetch(server.port()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThat(service.fetches).as("calls served").hasValue(1);
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

  /**
   * A client of the federated trust domain partner.test, whose bundle the server holds until the
   * test removes it.
   */
  private Client partnerClient() {
    TestCa partner = TestCa.create("partner.test", NOW);
    serverIdentities.set(Optional.of(TestCa.snapshot(valid(serverId), ca.bundle(), partner.bundle())));
    Client client = new Client(partner.issue(PARTNER_ID, NOW.minusSeconds(60), NOW.plusSeconds(3600)));
    client.trustBundles = List.of(ca.bundle(), partner.bundle());
    return client;
  }

  private TcpMtlsServer start(Set<SpiffeId> allowed) throws TransportStartException {
    TcpMtlsServer server = TcpMtlsServer.start(
        new TcpMtlsOptions("127.0.0.1", 0, allowed), serverIdentities::get, List.of(service.bindService()), serverTime.clock());
    cleanup.add(server);
    return server;
  }

  private Svid valid(SpiffeId id) {
    return ca.issue(id, NOW.minusSeconds(60), NOW.plusSeconds(3600));
  }

  /**
   * A test client that presents {@code svid} (none if null) and accepts only the server ID,
   * verified against the test CA (or {@link #trustBundles}). Its TLS context is built once, so a
   * later connection may offer to resume an earlier session, as a real client's would; each
   * {@link #fetch} opens a new connection unless {@link #reuseChannel}.
   */
  private final class Client {
    final AtomicReference<X509Certificate> serverLeaf = new AtomicReference<>();
    /** How often this client checked a server certificate: once per full handshake, never on resumption. */
    final AtomicInteger serverChecks = new AtomicInteger();
    private final Svid svid;
    String[] protocols = {"TLSv1.3", "TLSv1.2"};
    List<TrustBundle> trustBundles;
    boolean reuseChannel;
    private SslContext tls;
    private ManagedChannel channel;

    Client(Svid svid) {
      this.svid = svid;
    }

    DiscoveryResponse fetch(int port) throws Exception {
      if (channel == null || !reuseChannel) {
        channel = NettyChannelBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
            .sslContext(tls())
            .build();
        ManagedChannel c = channel;
        cleanup.add(() -> {
          c.shutdownNow();
          c.awaitTermination(5, TimeUnit.SECONDS);
        });
      }
      return SecretDiscoveryServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .fetchSecrets(DiscoveryRequest.newBuilder().addResourceNames("default").build());
    }

    private SslContext tls() throws Exception {
      if (tls == null) {
        Map<TrustDomain, TrustBundle> bundles = new java.util.HashMap<>();
        (trustBundles == null ? List.of(ca.bundle()) : trustBundles).forEach(b -> bundles.put(b.trustDomain(), b));
        IdentitySnapshot view = IdentitySnapshot.of(svid == null ? List.of() : List.of(svid), bundles);
        SslContextBuilder b = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
            .protocols(protocols)
            .trustManager(new RecordingTrustManager(
                new SpiffeTrustManager(() -> Optional.of(view), Set.of(serverId), CLOCK), serverLeaf, serverChecks));
        if (svid != null) {
          b.keyManager(new SvidKeyManager(() -> Optional.of(view)));
        }
        tls = b.build();
      }
      return tls;
    }
  }

  /** Verifies like its delegate, and remembers the server leaf it accepted. */
  private static final class RecordingTrustManager extends X509ExtendedTrustManager {
    private final SpiffeTrustManager delegate;
    private final AtomicReference<X509Certificate> serverLeaf;
    private final AtomicInteger checks;

    RecordingTrustManager(SpiffeTrustManager delegate, AtomicReference<X509Certificate> serverLeaf,
        AtomicInteger checks) {
      this.delegate = delegate;
      this.serverLeaf = serverLeaf;
      this.checks = checks;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      checks.incrementAndGet();
      delegate.checkServerTrusted(chain, authType, engine);
      serverLeaf.set(chain[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      checks.incrementAndGet();
      delegate.checkServerTrusted(chain, authType, socket);
      serverLeaf.set(chain[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      checks.incrementAndGet();
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
