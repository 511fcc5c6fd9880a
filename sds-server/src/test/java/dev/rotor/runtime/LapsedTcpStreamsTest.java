package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.protocol.ResourceStore;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.protocol.XdsStreamFactory;
import dev.rotor.sds.SecretDiscoveryService;
import dev.rotor.sds.SecretState;
import dev.rotor.testing.FakeScheduler;
import dev.rotor.testing.TestPki;
import dev.rotor.transport.SpiffeTrustManager;
import dev.rotor.transport.SvidKeyManager;
import dev.rotor.transport.TcpMtlsOptions;
import dev.rotor.transport.TcpMtlsServer;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.SecretNaming;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, finding 2, for streams already open: the engine's sweep ({@link
 * XdsStreamFactory#endLapsedStreams()}, which the runtime runs every second and at each identity
 * change) ends a TCP stream once its peer's CA left the bundle or its certificate expired, and
 * leaves the others alone. The real TCP transport, SDS service and caller mapping; a clock and
 * identities the test moves.
 */
class LapsedTcpStreamsTest {

  private static final TestPki ROTOR_CA = TestPki.forTrustDomain("rotor.test");
  private static final TestPki PARTNER_CA = TestPki.forTrustDomain("partner.test");
  private static final SpiffeId ROTOR_ID = SpiffeId.parse("spiffe://rotor.test/rotor");

  private final Svid server = ROTOR_CA.issue("/rotor");
  private final Svid partner = PARTNER_CA.issue("/envoy", Duration.ofHours(1));
  private final AtomicReference<IdentitySnapshot> identities =
      new AtomicReference<>(snapshot(ROTOR_CA.bundle(), PARTNER_CA.bundle()));
  private final FakeScheduler time = new FakeScheduler(Instant.now());
  private final ExecutorService pool = Executors.newFixedThreadPool(2);
  private final ResourceStore store = new ResourceStore(new SecretState(1, System.nanoTime(),
      SecretCatalog.build(identities.get(), SecretNaming.SPIRE_DEFAULTS), false));
  private final XdsStreamFactory streams = new XdsStreamFactory(store, pool, new XdsEventListener() {});
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
    pool.shutdownNow();
  }

  @Test
  void streamOfAPeerWhoseCaLeftTheBundle_isEnded_othersAreNot() throws Exception {
    XdsClient stream = openStream();
    assertThat(streams.endLapsedStreams()).as("streams ended while every CA is in the bundle").isZero();

    identities.set(snapshot(ROTOR_CA.bundle())); // federation with partner.test ended

    assertThat(streams.endLapsedStreams()).isEqualTo(1);
    Status closed = stream.awaitClosed(XdsClient.TIMEOUT);
    assertThat(closed.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(closed.getDescription()).doesNotContain("partner.test"); // the reason is for the log, not the peer
  }

  @Test
  void streamOfAPeerWhoseCertificateExpired_isEnded() throws Exception {
    XdsClient stream = openStream();

    time.advance(Duration.between(time.now(), partner.notAfter()).plusSeconds(1));

    assertThat(streams.endLapsedStreams()).isEqualTo(1);
    assertThat(stream.awaitClosed(XdsClient.TIMEOUT).getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  private XdsClient openStream() throws Exception {
    TcpMtlsServer tcp = TcpMtlsServer.start(new TcpMtlsOptions("127.0.0.1", 0, Set.of(partner.spiffeId())),
        () -> Optional.of(identities.get()), List.of(new SecretDiscoveryService(streams, Callers::current).bindService()),
        time.clock());
    cleanup.add(tcp);
    IdentitySnapshot view = IdentitySnapshot.of(List.of(partner),
        Map.of(ROTOR_CA.trustDomain(), ROTOR_CA.bundle(), PARTNER_CA.trustDomain(), PARTNER_CA.bundle()));
    ManagedChannel channel = NettyChannelBuilder.forAddress(new InetSocketAddress("127.0.0.1", tcp.port()))
        .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
            .keyManager(new SvidKeyManager(() -> Optional.of(view)))
            .trustManager(new SpiffeTrustManager(() -> Optional.of(view), Set.of(ROTOR_ID), Clock.systemUTC()))
            .build())
        .build();
    cleanup.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    XdsClient stream = XdsClient.sds(channel, "partner-envoy");
    cleanup.add(stream);
    stream.subscribe(TypeUrls.SECRET, "spiffe://rotor.test");
    assertThat(TcpEntitlementTest.names(stream.await())).containsExactly("spiffe://rotor.test");
    return stream;
  }

  private IdentitySnapshot snapshot(TrustBundle... bundles) {
    Map<TrustDomain, TrustBundle> byDomain = new java.util.LinkedHashMap<>();
    for (TrustBundle b : bundles) {
      byDomain.put(b.trustDomain(), b);
    }
    return IdentitySnapshot.of(List.of(server), byDomain);
  }
}
