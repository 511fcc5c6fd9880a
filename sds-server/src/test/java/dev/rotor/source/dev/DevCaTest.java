package dev.rotor.source.dev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.testing.FakeScheduler;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class DevCaTest {

  private static final TrustDomain TD = TrustDomain.parse("example.org");
  private static final SpiffeId WEB = SpiffeId.parse("spiffe://example.org/ns/demo/sa/web");
  private static final String KEY_USAGE_OID = "2.5.29.15";
  private static final String BASIC_CONSTRAINTS_OID = "2.5.29.19";
  private static final String SERVER_AUTH_OID = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";
  private static final int SAN_URI = 6;
  private static final int SAN_DNS = 2;

  private final FakeScheduler scheduler = new FakeScheduler();
  private final DevCa ca = new DevCa(TD, Duration.ofDays(1), Duration.ofMinutes(10), scheduler.clock());

  @Test
  void issue_chainAndKey_parseWithJavaSpiffe() throws Exception {
    Svid svid = ca.issue(WEB, Duration.ofHours(1));

    X509Svid parsed = X509Svid.parseRaw(concatDer(svid.chain()), svid.privateKey().getEncoded());

    assertThat(parsed.getSpiffeId()).isEqualTo(WEB);
    assertThat(parsed.getLeaf()).isEqualTo(svid.leaf());
  }

  @Test
  void issue_withDnsNames_stillParsesWithJavaSpiffe() throws Exception {
    Svid svid = ca.issue(WEB, Duration.ofHours(1), List.of("db.example.org", "db"));

    assertThatCode(() -> X509Svid.parseRaw(concatDer(svid.chain()), svid.privateKey().getEncoded()))
        .doesNotThrowAnyException();
  }

  @Test
  void caCertificate_isSelfSignedCaWithCertSignAndCrlSignCritical() throws Exception {
    X509Certificate c = ca.caCertificate();

    c.verify(c.getPublicKey());
    assertThat(c.getSubjectX500Principal()).isEqualTo(c.getIssuerX500Principal());
    assertThat(c.getBasicConstraints()).isGreaterThanOrEqualTo(0);
    assertThat(c.getCriticalExtensionOIDs()).contains(BASIC_CONSTRAINTS_OID, KEY_USAGE_OID);
    boolean[] ku = c.getKeyUsage();
    assertThat(ku[5]).as("keyCertSign").isTrue();
    assertThat(ku[6]).as("cRLSign").isTrue();
    assertThat(ku[0]).as("digitalSignature").isFalse();
  }

  @Test
  void caCertificate_hasTrustDomainUriSanAndDevelopmentSubject() throws Exception {
    X509Certificate c = ca.caCertificate();

    assertThat(sans(c, SAN_URI)).containsExactly("spiffe://example.org");
    assertThat(c.getSubjectX500Principal().getName()).contains("O=Rotor development CA");
    assertP256(c);
  }

  @Test
  void issue_leafHasExactlyOneUriSanThatIsTheSpiffeId() throws Exception {
    X509Certificate leaf = ca.issue(WEB, Duration.ofHours(1)).leaf();

    assertThat(sans(leaf, SAN_URI)).containsExactly(WEB.toString());
    assertThat(leaf.getSubjectAlternativeNames()).hasSize(1);
  }

  @Test
  void issue_leafKeyIsEcP256() throws Exception {
    Svid svid = ca.issue(WEB, Duration.ofHours(1));

    assertP256(svid.leaf());
    assertThat(svid.privateKey().getAlgorithm()).isEqualTo("EC");
  }

  @Test
  void issue_leafKeyUsageIsDigitalSignatureOnlyAndCritical() {
    X509Certificate leaf = ca.issue(WEB, Duration.ofHours(1)).leaf();

    assertThat(leaf.getCriticalExtensionOIDs()).contains(KEY_USAGE_OID);
    boolean[] ku = leaf.getKeyUsage();
    assertThat(ku[0]).as("digitalSignature").isTrue();
    for (int i = 1; i < ku.length; i++) {
      assertThat(ku[i]).as("key usage bit %d", i).isFalse();
    }
  }

  @Test
  void issue_leafExtendedKeyUsageIsServerAuthAndClientAuth() throws Exception {
    X509Certificate leaf = ca.issue(WEB, Duration.ofHours(1)).leaf();

    assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH_OID, CLIENT_AUTH_OID);
  }

  @Test
  void issue_leafIsNotCa() {
    X509Certificate leaf = ca.issue(WEB, Duration.ofHours(1)).leaf();

    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(leaf.getCriticalExtensionOIDs()).contains(BASIC_CONSTRAINTS_OID);
  }

  @Test
  void issue_serialsArePositive128BitAndDistinct() {
    Set<BigInteger> serials = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      BigInteger serial = ca.issue(WEB, Duration.ofHours(1)).serial();
      assertThat(serial.signum()).isEqualTo(1);
      assertThat(serial.bitLength()).isLessThanOrEqualTo(128);
      serials.add(serial);
    }
    assertThat(serials).hasSize(50);
  }

  @Test
  void issue_notBeforeIsBackdated30sAndNotAfterIsNowPlusTtl() {
    Instant now = scheduler.now();

    Svid svid = ca.issue(WEB, Duration.ofHours(1));

    assertThat(svid.notBefore()).isEqualTo(now.minusSeconds(30));
    assertThat(svid.notAfter()).isEqualTo(now.plus(Duration.ofHours(1)));
  }

  @Test
  void issue_ttlBeyondCaExpiry_isCappedAtCaNotAfter() {
    Svid svid = ca.issue(WEB, Duration.ofDays(7));

    assertThat(svid.notAfter()).isEqualTo(ca.caNotAfter());
    assertThat(svid.leaf().getNotAfter()).isEqualTo(ca.caCertificate().getNotAfter());
  }

  @Test
  void issue_withDnsNames_addsDnsSansAndFirstNameAsCn() throws Exception {
    X509Certificate leaf = ca.issue(WEB, Duration.ofHours(1), List.of("db.example.org", "db")).leaf();

    assertThat(sans(leaf, SAN_URI)).containsExactly(WEB.toString());
    assertThat(sans(leaf, SAN_DNS)).containsExactly("db.example.org", "db");
    assertThat(leaf.getSubjectX500Principal().getName()).contains("CN=db.example.org");
  }

  @Test
  void issue_withoutDnsNames_hasNoCn() {
    X509Certificate leaf = ca.issue(WEB, Duration.ofHours(1)).leaf();

    assertThat(leaf.getSubjectX500Principal().getName()).doesNotContain("CN=");
  }

  @Test
  void issue_chainVerifiesAgainstBundleWithPkix() throws Exception {
    Svid svid = ca.issue(WEB, Duration.ofHours(1));

    assertThatCode(() -> pkixValidate(svid, ca.bundle(), scheduler.now())).doesNotThrowAnyException();
  }

  @Test
  void issue_idOutsideTrustDomain_isRejected() {
    assertThatThrownBy(() -> ca.issue(SpiffeId.parse("spiffe://other.org/web"), Duration.ofHours(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("spiffeId: spiffe://other.org/web (expected: in trust domain example.org)");
  }

  @Test
  void issue_afterCaExpired_isRejected() {
    scheduler.advance(Duration.ofDays(2));

    assertThatThrownBy(() -> ca.issue(WEB, Duration.ofHours(1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expired");
  }

  @Test
  void rotateCa_bundleHoldsBothCasDuringOverlapThenOnlyTheNewOne() {
    X509Certificate oldCa = ca.caCertificate();

    ca.rotateCa();
    X509Certificate newCa = ca.caCertificate();

    assertThat(newCa).isNotEqualTo(oldCa);
    assertThat(ca.bundle().authorities()).containsExactlyInAnyOrder(oldCa, newCa);
    assertThat(ca.overlapEndsAt()).contains(scheduler.now().plus(Duration.ofMinutes(10)));

    scheduler.advance(Duration.ofMinutes(10).minusNanos(1));
    assertThat(ca.bundle().authorities()).hasSize(2);

    scheduler.advance(Duration.ofNanos(1));
    assertThat(ca.bundle().authorities()).containsExactly(newCa);
    assertThat(ca.overlapEndsAt()).isEmpty();
  }

  @Test
  void rotateCa_newSvidsAreSignedByTheNewCa() throws Exception {
    Svid before = ca.issue(WEB, Duration.ofHours(1));
    ca.rotateCa();

    Svid after = ca.issue(WEB, Duration.ofHours(1));

    after.leaf().verify(ca.caCertificate().getPublicKey());
    assertThat(after.leaf().getIssuerX500Principal()).isEqualTo(ca.caCertificate().getSubjectX500Principal());
    assertThatCode(() -> pkixValidate(before, ca.bundle(), scheduler.now())).doesNotThrowAnyException();
    assertThatCode(() -> pkixValidate(after, ca.bundle(), scheduler.now())).doesNotThrowAnyException();
  }

  @Test
  void rotateCa_withZeroOverlap_dropsOldCaAtOnce() {
    DevCa noOverlap = new DevCa(TD, Duration.ofDays(1), Duration.ZERO, scheduler.clock());

    noOverlap.rotateCa();

    assertThat(noOverlap.bundle().authorities()).containsExactly(noOverlap.caCertificate());
  }

  @Test
  void toString_namesTrustDomainAndNotKeys() {
    assertThat(ca.toString()).contains("example.org").doesNotContain("PRIVATE").doesNotContain("KeyPair");
  }

  static void pkixValidate(Svid svid, TrustBundle bundle, Instant at) throws Exception {
    Set<TrustAnchor> anchors =
        bundle.authorities().stream().map(c -> new TrustAnchor(c, null)).collect(Collectors.toSet());
    PKIXParameters params = new PKIXParameters(anchors);
    params.setRevocationEnabled(false);
    params.setDate(Date.from(at));
    CertPathValidator.getInstance("PKIX")
        .validate(CertificateFactory.getInstance("X.509").generateCertPath(svid.chain()), params);
  }

  static byte[] concatDer(List<X509Certificate> chain) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (X509Certificate c : chain) {
      out.write(c.getEncoded());
    }
    return out.toByteArray();
  }

  private static List<String> sans(X509Certificate c, int type) throws Exception {
    List<String> out = new ArrayList<>();
    for (List<?> san : c.getSubjectAlternativeNames()) {
      if ((Integer) san.get(0) == type) {
        out.add((String) san.get(1));
      }
    }
    return out;
  }

  private static void assertP256(X509Certificate c) {
    assertThat(c.getPublicKey()).isInstanceOf(ECPublicKey.class);
    ECParameterSpec params = ((ECPublicKey) c.getPublicKey()).getParams();
    assertThat(params.getCurve().getField().getFieldSize()).isEqualTo(256);
    // The order of the P-256 base point (FIPS 186-4 D.1.2.3) identifies the curve.
    assertThat(params.getOrder()).isEqualTo(new BigInteger(
        "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16));
  }
}
