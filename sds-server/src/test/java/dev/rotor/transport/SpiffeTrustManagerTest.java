package dev.rotor.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import io.spiffe.spiffeid.SpiffeId;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SpiffeTrustManagerTest {

  private static final Instant NOW = Instant.parse("2030-01-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

  private final TestCa ca = TestCa.create("rotor.test", NOW);
  private final Svid own = ca.issue("/rotor", NOW.minusSeconds(3600), NOW.plusSeconds(3600));
  private final SpiffeId envoy = SpiffeId.parse("spiffe://rotor.test/envoy");
  private final AtomicReference<Optional<IdentitySnapshot>> identities =
      new AtomicReference<>(Optional.of(TestCa.snapshot(own, ca.bundle())));
  private final SpiffeTrustManager trustManager = new SpiffeTrustManager(identities::get, Set.of(envoy), CLOCK);

  @Test
  void allowedClientWithValidSvid_isAccepted() throws Exception {
    Svid client = ca.issue(envoy, NOW.minusSeconds(60), NOW.plusSeconds(60));

    assertThat(trustManager.verify(chain(client), "1.3.6.1.5.5.7.3.2")).isEqualTo(envoy);
    trustManager.checkClientTrusted(chain(client), "UNKNOWN");
  }

  @Test
  void chainThatIncludesTheRoot_isAccepted() throws Exception {
    Svid client = ca.issue(envoy, NOW.minusSeconds(60), NOW.plusSeconds(60));

    trustManager.checkClientTrusted(new X509Certificate[] {client.leaf(), ca.certificate}, "UNKNOWN");
  }

  @Test
  void expiredCertificate_isRejected() {
    Svid client = ca.issue(envoy, NOW.minusSeconds(7200), NOW.minusSeconds(3600));

    assertThatThrownBy(() -> trustManager.checkClientTrusted(chain(client), "UNKNOWN"))
        .isInstanceOf(CertificateException.class)
        .hasMessageContaining("does not verify against the bundle of rotor.test");
  }

  @Test
  void notYetValidCertificate_isRejected() {
    Svid client = ca.issue(envoy, NOW.plusSeconds(60), NOW.plusSeconds(3600));

    assertThatThrownBy(() -> trustManager.checkClientTrusted(chain(client), "UNKNOWN"))
        .isInstanceOf(CertificateException.class);
  }

  @Test
  void idNotOnAllowList_isRejected() {
    Svid client = ca.issue("/someone-else", NOW.minusSeconds(60), NOW.plusSeconds(60));

    assertThatThrownBy(() -> trustManager.checkClientTrusted(chain(client), "UNKNOWN"))
        .isInstanceOf(CertificateException.class)
        .hasMessageStartingWith("spiffe://rotor.test/someone-else is not an allowed peer");
  }

  @Test
  void trustDomainWithoutBundle_isRejected() {
    TestCa other = TestCa.create("other.test", NOW);
    SpiffeId stranger = SpiffeId.parse("spiffe://other.test/envoy");
    SpiffeTrustManager allowingStranger = new SpiffeTrustManager(identities::get, Set.of(stranger), CLOCK);

    assertThatThrownBy(() -> allowingStranger.checkClientTrusted(
            chain(other.issue(stranger, NOW.minusSeconds(60), NOW.plusSeconds(60))), "UNKNOWN"))
        .isInstanceOf(CertificateException.class)
        .hasMessageContaining("no trust bundle for trust domain other.test");
  }

  @Test
  void federatedTrustDomainWithBundle_isAccepted() throws Exception {
    TestCa partner = TestCa.create("partner.test", NOW);
    SpiffeId partnerEnvoy = SpiffeId.parse("spiffe://partner.test/envoy");
    identities.set(Optional.of(TestCa.snapshot(own, ca.bundle(), partner.bundle())));
    SpiffeTrustManager federated = new SpiffeTrustManager(identities::get, Set.of(partnerEnvoy), CLOCK);

    federated.checkClientTrusted(chain(partner.issue(partnerEnvoy, NOW.minusSeconds(60), NOW.plusSeconds(60))), "UNKNOWN");
  }

  @Test
  void certificateForOurTrustDomainSignedByAnotherCa_isRejected() {
    TestCa impostor = TestCa.create("rotor.test", NOW);

    assertThatThrownBy(() -> trustManager.checkClientTrusted(
            chain(impostor.issue(envoy, NOW.minusSeconds(60), NOW.plusSeconds(60))), "UNKNOWN"))
        .isInstanceOf(CertificateException.class)
        .hasMessageContaining("does not verify");
  }

  @Test
  void afterBundleRotation_certificatesOfTheRemovedCa_areRejected() throws Exception {
    Svid client = ca.issue(envoy, NOW.minusSeconds(60), NOW.plusSeconds(60));
    trustManager.checkClientTrusted(chain(client), "UNKNOWN");

    TestCa next = TestCa.create("rotor.test", NOW);
    identities.set(Optional.of(TestCa.snapshot(own, next.bundle())));

    assertThatThrownBy(() -> trustManager.checkClientTrusted(chain(client), "UNKNOWN"))
        .isInstanceOf(CertificateException.class);
  }

  @Test
  void noIdentitiesYet_rejectsEveryone() {
    identities.set(Optional.empty());

    assertThatThrownBy(() -> trustManager.checkClientTrusted(
            chain(ca.issue(envoy, NOW.minusSeconds(60), NOW.plusSeconds(60))), "UNKNOWN"))
        .isInstanceOf(CertificateException.class)
        .hasMessageContaining("no trust bundles yet");
  }

  @Test
  void caCertificateAsLeaf_isRejected() {
    SpiffeTrustManager allowingDomain =
        new SpiffeTrustManager(identities::get, Set.of(SpiffeId.parse("spiffe://rotor.test/x")), CLOCK);

    assertThatThrownBy(() -> allowingDomain.checkClientTrusted(new X509Certificate[] {ca.certificate}, "UNKNOWN"))
        .isInstanceOf(CertificateException.class);
  }

  @Test
  void emptyChain_isRejected() {
    assertThatThrownBy(() -> trustManager.checkClientTrusted(new X509Certificate[0], "UNKNOWN"))
        .isInstanceOf(CertificateException.class)
        .hasMessage("peer presented no certificate");
  }

  @Test
  void serverCheck_acceptsTheExpectedServerId() throws Exception {
    SpiffeTrustManager client = new SpiffeTrustManager(identities::get, Set.of(own.spiffeId()), CLOCK);

    client.checkServerTrusted(chain(own), "UNKNOWN");
  }

  @Test
  void emptyAllowList_isRefused() {
    assertThatThrownBy(() -> new SpiffeTrustManager(identities::get, Set.of(), CLOCK))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("allowedPeers: empty");
  }

  private static X509Certificate[] chain(Svid svid) {
    return svid.chain().toArray(new X509Certificate[0]);
  }
}
