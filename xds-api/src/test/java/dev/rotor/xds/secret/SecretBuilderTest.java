package dev.rotor.xds.secret;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.testing.TestPki;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class SecretBuilderTest {

  private static final TestPki EXAMPLE = TestPki.forTrustDomain("example.org");
  private static final TestPki PARTNER = TestPki.forTrustDomain("partner.test");
  private static final TestPki ZETA = TestPki.forTrustDomain("zeta.example");

  @Test
  void tlsCertificate_holdsTheFullChainLeafFirstAsPem() throws Exception {
    Svid issued = EXAMPLE.issue("/workload");
    Svid withIntermediate = new Svid(issued.spiffeId(), List.of(issued.leaf(), EXAMPLE.caCertificate()),
        issued.privateKey(), "");

    Secret secret = SecretBuilder.tlsCertificate("spiffe://example.org/workload", withIntermediate);

    assertThat(secret.getName()).isEqualTo("spiffe://example.org/workload");
    assertThat(secret.getTlsCertificate().getCertificateChain().getSpecifierCase().name()).isEqualTo("INLINE_BYTES");
    assertThat(parseCertificates(secret.getTlsCertificate().getCertificateChain().getInlineBytes()))
        .containsExactly(issued.leaf(), EXAMPLE.caCertificate());
  }

  @Test
  void tlsCertificate_holdsThePkcs8KeyInlineAsPem() {
    Svid svid = EXAMPLE.issue("/workload");

    Secret secret = SecretBuilder.tlsCertificate("default", svid);

    String pem = secret.getTlsCertificate().getPrivateKey().getInlineBytes().toString(StandardCharsets.US_ASCII);
    assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----\n").endsWith("-----END PRIVATE KEY-----\n");
    String body = pem.replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", "");
    assertThat(Base64.getMimeDecoder().decode(body)).isEqualTo(svid.privateKey().getEncoded());
    assertThat(svid.privateKey().getFormat()).isEqualTo("PKCS#8");
  }

  @Test
  void rule29_spiffeValidatorHasOneTrustDomainPerBundleSortedByNameWithoutScheme() throws Exception {
    // Given out of order on purpose: the output must not depend on it.
    Secret secret = SecretBuilder.validationContext("ALL",
        List.of(ZETA.bundle(), EXAMPLE.bundle(), PARTNER.bundle()), ValidationForm.SPIFFE_VALIDATOR);

    SPIFFECertValidatorConfig spiffe = spiffeConfig(secret);
    assertThat(spiffe.getTrustDomainsList()).extracting(SPIFFECertValidatorConfig.TrustDomain::getName)
        .containsExactly("example.org", "partner.test", "zeta.example")
        .allSatisfy(name -> assertThat(name).doesNotContain("spiffe://"));
  }

  @Test
  void rule29_eachTrustDomainIsValidatedOnlyByItsOwnBundle() throws Exception {
    Secret secret = SecretBuilder.validationContext("ALL", List.of(EXAMPLE.bundle(), PARTNER.bundle()),
        ValidationForm.SPIFFE_VALIDATOR);

    SPIFFECertValidatorConfig spiffe = spiffeConfig(secret);
    assertThat(parseCertificates(spiffe.getTrustDomains(0).getTrustBundle().getInlineBytes()))
        .containsExactly(EXAMPLE.caCertificate());
    assertThat(parseCertificates(spiffe.getTrustDomains(1).getTrustBundle().getInlineBytes()))
        .containsExactly(PARTNER.caCertificate());
  }

  @Test
  void rule29_spiffeValidatorIsTheNamedEnvoyExtension() throws Exception {
    Secret secret = SecretBuilder.validationContext("ROOTCA", List.of(EXAMPLE.bundle()),
        ValidationForm.SPIFFE_VALIDATOR);

    CertificateValidationContext vc = secret.getValidationContext();
    assertThat(secret.getName()).isEqualTo("ROOTCA");
    assertThat(vc.getCustomValidatorConfig().getName()).isEqualTo("envoy.tls.cert_validator.spiffe");
    assertThat(vc.hasTrustedCa()).as("the SPIFFE validator replaces trusted_ca").isFalse();
    assertThat(spiffeConfig(secret).getTrustDomainsCount()).isEqualTo(1);
  }

  @Test
  void trustedCa_holdsTheBundleAsPem() throws Exception {
    TrustBundle twoAuthorities = TrustBundle.of(EXAMPLE.trustDomain(),
        List.of(EXAMPLE.caCertificate(), PARTNER.caCertificate()));

    Secret secret = SecretBuilder.validationContext("ROOTCA", List.of(twoAuthorities), ValidationForm.TRUSTED_CA);

    CertificateValidationContext vc = secret.getValidationContext();
    assertThat(vc.hasCustomValidatorConfig()).isFalse();
    assertThat(parseCertificates(vc.getTrustedCa().getInlineBytes()))
        .containsExactlyElementsOf(twoAuthorities.authorities());
  }

  @Test
  void trustedCa_withSeveralTrustDomains_isRefused() {
    assertThatThrownBy(() -> SecretBuilder.validationContext("ALL", List.of(EXAMPLE.bundle(), PARTNER.bundle()),
        ValidationForm.TRUSTED_CA))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bundles: 2")
        .hasMessageContaining("expected: exactly one");
  }

  @Test
  void validationContext_withoutBundles_isRefused() {
    for (ValidationForm form : ValidationForm.values()) {
      assertThatThrownBy(() -> SecretBuilder.validationContext("ROOTCA", List.of(), form))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("bundles: empty");
    }
  }

  @Test
  void sameInputGivesByteIdenticalOutput() {
    Svid svid = EXAMPLE.issue("/workload");

    assertThat(SecretBuilder.tlsCertificate("default", svid).toByteString())
        .isEqualTo(SecretBuilder.tlsCertificate("default", svid).toByteString());
    assertThat(SecretBuilder.validationContext("ALL", List.of(PARTNER.bundle(), EXAMPLE.bundle()),
        ValidationForm.SPIFFE_VALIDATOR).toByteString())
        .isEqualTo(SecretBuilder.validationContext("ALL", List.of(EXAMPLE.bundle(), PARTNER.bundle()),
            ValidationForm.SPIFFE_VALIDATOR).toByteString());
  }

  static SPIFFECertValidatorConfig spiffeConfig(Secret secret) throws InvalidProtocolBufferException {
    return secret.getValidationContext().getCustomValidatorConfig().getTypedConfig()
        .unpack(SPIFFECertValidatorConfig.class);
  }

  @SuppressWarnings("unchecked")
  static List<X509Certificate> parseCertificates(ByteString pem) throws CertificateException {
    return List.copyOf((java.util.Collection<X509Certificate>) CertificateFactory.getInstance("X.509")
        .generateCertificates(new ByteArrayInputStream(pem.toByteArray())));
  }
}
