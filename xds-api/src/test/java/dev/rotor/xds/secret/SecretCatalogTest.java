package dev.rotor.xds.secret;

import static dev.rotor.xds.secret.SecretBuilderTest.parseCertificates;
import static dev.rotor.xds.secret.SecretBuilderTest.spiffeConfig;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.testing.TestPki;
import dev.rotor.xds.Resource;
import dev.rotor.xds.ResourceVersions;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SecretCatalogTest {

  private static final TestPki EXAMPLE = TestPki.forTrustDomain("example.org");
  private static final TestPki PARTNER = TestPki.forTrustDomain("partner.test");

  private static final String WORKLOAD = "spiffe://example.org/workload";
  private static final String OTHER = "spiffe://example.org/other";

  private final Svid workload = EXAMPLE.issue("/workload");
  private final Svid other = EXAMPLE.issue("/other");
  private final IdentitySnapshot snapshot = IdentitySnapshot.of(List.of(workload, other),
      bundles(EXAMPLE.bundle(), PARTNER.bundle()));

  @Test
  void servesTheNamesSpiresAgentServes() {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);

    assertThat(catalog.names(ValidationForm.SPIFFE_VALIDATOR)).containsExactlyInAnyOrder(
        "default", WORKLOAD, OTHER, "ROOTCA", "ALL", "spiffe://example.org", "spiffe://partner.test");
  }

  @Test
  void forOneKeyHolder_onlyItsOwnKeyIsThere_byAnyName_andEveryBundle() {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);
    SpiffeId otherId = SpiffeId.parse(OTHER);
    SpiffeId workloadId = SpiffeId.parse(WORKLOAD);

    for (ValidationForm form : ValidationForm.values()) {
      assertThat(catalog.get(WORKLOAD, form, otherId)).as("another SVID, in %s", form).isEmpty();
      assertThat(catalog.get("default", form, otherId)).as("default is the first SVID, not other's").isEmpty();
      assertThat(catalog.get(OTHER, form, otherId)).isPresent();
      assertThat(catalog.get("default", form, workloadId)).as("default resolves to the caller's own SVID").isPresent();
      assertThat(catalog.get("spiffe://partner.test", form, otherId)).isPresent();
      assertThat(catalog.wildcard(form, otherId)).extracting(Resource::name)
          .containsExactlyInAnyOrder(OTHER, "spiffe://example.org", "spiffe://partner.test");
    }
    assertThat(catalog.get("ROOTCA", ValidationForm.SPIFFE_VALIDATOR, otherId)).isPresent();
    assertThat(catalog.get("ALL", ValidationForm.SPIFFE_VALIDATOR, otherId)).isPresent();
    assertThat(catalog.wildcard(ValidationForm.SPIFFE_VALIDATOR, SpiffeId.parse("spiffe://example.org/nobody")))
        .extracting(Resource::name).containsExactlyInAnyOrder("spiffe://example.org", "spiffe://partner.test");
  }

  @Test
  void rule26_everySecretIsNamedExactlyAsItIsServed() throws Exception {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);

    for (ValidationForm form : ValidationForm.values()) {
      for (String name : catalog.names(form)) {
        Resource r = catalog.get(name, form).orElseThrow();
        assertThat(r.name()).isEqualTo(name);
        assertThat(secret(r).getName()).as("secret.name of %s in %s", name, form).isEqualTo(name);
      }
    }
  }

  @Test
  void defaultIsTheFirstSvidAndEachSvidIsServedByItsSpiffeId() throws Exception {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);

    assertThat(leafOf(catalog, "default")).isEqualTo(workload.leaf());
    assertThat(leafOf(catalog, WORKLOAD)).isEqualTo(workload.leaf());
    assertThat(leafOf(catalog, OTHER)).isEqualTo(other.leaf());
  }

  @Test
  void rootCaIsTheOwnTrustDomainsBundleAndAllHoldsEveryBundle() throws Exception {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);

    assertThat(trustDomainNames(catalog, "ROOTCA")).containsExactly("example.org");
    assertThat(trustDomainNames(catalog, "spiffe://example.org")).containsExactly("example.org");
    assertThat(trustDomainNames(catalog, "spiffe://partner.test")).containsExactly("partner.test");
    assertThat(trustDomainNames(catalog, "ALL")).containsExactly("example.org", "partner.test");
    SPIFFECertValidatorConfig federated = spiffeConfig(secret(
        catalog.get("spiffe://partner.test", ValidationForm.SPIFFE_VALIDATOR).orElseThrow()));
    assertThat(parseCertificates(federated.getTrustDomains(0).getTrustBundle().getInlineBytes()))
        .containsExactly(PARTNER.caCertificate());
  }

  @Test
  void aliasesComeFromSecretNaming() {
    SecretNaming naming = new SecretNaming("my-svid", "my-bundle", "my-bundles");

    SecretCatalog catalog = SecretCatalog.build(snapshot, naming);

    assertThat(catalog.names(ValidationForm.SPIFFE_VALIDATOR))
        .contains("my-svid", "my-bundle", "my-bundles")
        .doesNotContain("default", "ROOTCA", "ALL");
    assertThat(catalog.get("my-svid", ValidationForm.SPIFFE_VALIDATOR)).isPresent();
  }

  @Test
  void rule12_wildcardIsEachBundleAndEachSvidByCanonicalNameWithoutAliases() {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);

    for (ValidationForm form : ValidationForm.values()) {
      assertThat(catalog.wildcard(form)).extracting(Resource::name).as("wildcard in %s", form)
          .containsExactlyInAnyOrder("spiffe://example.org", "spiffe://partner.test", WORKLOAD, OTHER);
    }
  }

  @Test
  void trustedCaForm_servesNoAllBundlesSecret() throws Exception {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);

    assertThat(catalog.get("ALL", ValidationForm.TRUSTED_CA)).isEmpty();
    assertThat(catalog.names(ValidationForm.TRUSTED_CA)).containsExactlyInAnyOrder(
        "default", WORKLOAD, OTHER, "ROOTCA", "spiffe://example.org", "spiffe://partner.test");
    Secret rootCa = secret(catalog.get("ROOTCA", ValidationForm.TRUSTED_CA).orElseThrow());
    assertThat(rootCa.getValidationContext().hasCustomValidatorConfig()).isFalse();
    assertThat(parseCertificates(rootCa.getValidationContext().getTrustedCa().getInlineBytes()))
        .containsExactly(EXAMPLE.caCertificate());
  }

  @Test
  void emptyFederatedBundleIsNeverServed() throws Exception {
    TrustBundle empty = TrustBundle.of(PARTNER.trustDomain(), List.of());
    IdentitySnapshot withEmpty = IdentitySnapshot.of(List.of(workload), bundles(EXAMPLE.bundle(), empty));

    SecretCatalog catalog = SecretCatalog.build(withEmpty, SecretNaming.SPIRE_DEFAULTS);

    for (ValidationForm form : ValidationForm.values()) {
      assertThat(catalog.get("spiffe://partner.test", form)).isEmpty();
      assertThat(catalog.wildcard(form)).extracting(Resource::name).doesNotContain("spiffe://partner.test");
    }
    assertThat(trustDomainNames(catalog, "ALL")).containsExactly("example.org");
  }

  @Test
  void emptyOwnBundleIsNeverServedUnderAnyName() {
    IdentitySnapshot withEmpty = IdentitySnapshot.of(List.of(workload),
        bundles(TrustBundle.of(EXAMPLE.trustDomain(), List.of())));

    SecretCatalog catalog = SecretCatalog.build(withEmpty, SecretNaming.SPIRE_DEFAULTS);

    for (ValidationForm form : ValidationForm.values()) {
      assertThat(catalog.names(form)).containsExactlyInAnyOrder("default", WORKLOAD);
    }
  }

  @Test
  void withoutSvids_bundlesAreServedButNoSvidOrOwnBundleAlias() {
    IdentitySnapshot bundlesOnly = IdentitySnapshot.of(List.of(), bundles(EXAMPLE.bundle()));

    SecretCatalog catalog = SecretCatalog.build(bundlesOnly, SecretNaming.SPIRE_DEFAULTS);

    assertThat(catalog.names(ValidationForm.SPIFFE_VALIDATOR)).containsExactlyInAnyOrder("spiffe://example.org", "ALL");
  }

  @Test
  void withoutSvids_givenTheOwnTrustDomain_theOwnBundleKeepsItsAlias() {
    IdentitySnapshot withdrawn = IdentitySnapshot.of(List.of(), bundles(EXAMPLE.bundle()));

    SecretCatalog catalog = SecretCatalog.build(withdrawn, SecretNaming.SPIRE_DEFAULTS,
        Optional.of(TrustDomain.parse("example.org")));

    assertThat(catalog.names(ValidationForm.SPIFFE_VALIDATOR))
        .containsExactlyInAnyOrder("spiffe://example.org", "ROOTCA", "ALL");
  }

  @Test
  void svidsSharingASpiffeId_theFirstWins() throws Exception {
    Svid second = EXAMPLE.issue("/workload");
    IdentitySnapshot twice = IdentitySnapshot.of(List.of(workload, second), bundles(EXAMPLE.bundle()));

    SecretCatalog catalog = SecretCatalog.build(twice, SecretNaming.SPIRE_DEFAULTS);

    assertThat(leafOf(catalog, WORKLOAD)).isEqualTo(workload.leaf());
    assertThat(catalog.wildcard(ValidationForm.SPIFFE_VALIDATOR)).extracting(Resource::name)
        .containsOnlyOnce(WORKLOAD);
  }

  @Test
  void emptyCatalogServesNothing() {
    for (ValidationForm form : ValidationForm.values()) {
      assertThat(SecretCatalog.EMPTY.names(form)).isEmpty();
      assertThat(SecretCatalog.EMPTY.wildcard(form)).isEmpty();
      assertThat(SecretCatalog.EMPTY.get("default", form)).isEmpty();
    }
    assertThat(SecretCatalog.EMPTY.snapshotVersion()).isEmpty();
  }

  @Test
  void rule28_sameSnapshotBuiltTwiceGivesIdenticalBytesAndVersions() {
    SecretCatalog first = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);
    SecretCatalog second = SecretCatalog.build(IdentitySnapshot.of(List.of(workload, other),
        bundles(PARTNER.bundle(), EXAMPLE.bundle())), SecretNaming.SPIRE_DEFAULTS);

    assertThat(second.snapshotVersion()).isEqualTo(first.snapshotVersion());
    for (ValidationForm form : ValidationForm.values()) {
      assertThat(second.names(form)).containsExactlyElementsOf(first.names(form));
      for (String name : first.names(form)) {
        Resource a = first.get(name, form).orElseThrow();
        Resource b = second.get(name, form).orElseThrow();
        assertThat(b.version()).as("version of %s", name).isEqualTo(a.version());
        assertThat(b.body().toByteString()).as("bytes of %s", name).isEqualTo(a.body().toByteString());
      }
    }
  }

  @Test
  void versionsAreDerivedFromTheEncodedContent() {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);

    for (ValidationForm form : ValidationForm.values()) {
      for (String name : catalog.names(form)) {
        Resource r = catalog.get(name, form).orElseThrow();
        assertThat(r.version()).isEqualTo(ResourceVersions.of(r.body())).hasSize(16);
      }
    }
  }

  @Test
  void rotatedCertificateChangesOnlyTheCertificateVersions() {
    SecretCatalog before = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);
    Svid rotated = EXAMPLE.issue("/workload");
    SecretCatalog after = SecretCatalog.build(IdentitySnapshot.of(List.of(rotated, other),
        bundles(EXAMPLE.bundle(), PARTNER.bundle())), SecretNaming.SPIRE_DEFAULTS);

    assertThat(after.snapshotVersion()).isNotEqualTo(before.snapshotVersion());
    for (String changed : List.of("default", WORKLOAD)) {
      assertThat(version(after, changed)).as(changed).isNotEqualTo(version(before, changed));
    }
    for (String unchanged : List.of(OTHER, "ROOTCA", "ALL", "spiffe://example.org", "spiffe://partner.test")) {
      assertThat(version(after, unchanged)).as(unchanged).isEqualTo(version(before, unchanged));
    }
  }

  @Test
  void certificateInfoDescribesCertificatesAndOnlyThem() {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);

    var info = catalog.get("default", ValidationForm.SPIFFE_VALIDATOR).orElseThrow().certificate().orElseThrow();
    assertThat(info.spiffeId()).isEqualTo(WORKLOAD);
    assertThat(info.serialHex()).isEqualTo(workload.serialHex());
    assertThat(info.notAfter()).isEqualTo(workload.notAfter());
    assertThat(catalog.get("ROOTCA", ValidationForm.SPIFFE_VALIDATOR).orElseThrow().certificate()).isEmpty();
  }

  @Test
  void resourceToStringNeverShowsTheKey() {
    SecretCatalog catalog = SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);
    String keyBase64 = Base64.getEncoder().encodeToString(workload.privateKey().getEncoded());

    String text = catalog.get("default", ValidationForm.SPIFFE_VALIDATOR).orElseThrow().toString();

    assertThat(text).doesNotContain("PRIVATE KEY").doesNotContain(keyBase64.substring(0, 40));
    assertThat(workload.toString()).doesNotContain("PRIVATE KEY").doesNotContain(keyBase64.substring(0, 40));
  }

  private static Map<TrustDomain, TrustBundle> bundles(TrustBundle... bundles) {
    Map<TrustDomain, TrustBundle> m = new LinkedHashMap<>();
    for (TrustBundle b : bundles) {
      m.put(b.trustDomain(), b);
    }
    return m;
  }

  private static Secret secret(Resource r) throws InvalidProtocolBufferException {
    return r.body().unpack(Secret.class);
  }

  private static String version(SecretCatalog catalog, String name) {
    return catalog.get(name, ValidationForm.SPIFFE_VALIDATOR).orElseThrow().version();
  }

  private static Object leafOf(SecretCatalog catalog, String name) throws Exception {
    Secret s = secret(catalog.get(name, ValidationForm.SPIFFE_VALIDATOR).orElseThrow());
    return parseCertificates(s.getTlsCertificate().getCertificateChain().getInlineBytes()).get(0);
  }

  private static List<String> trustDomainNames(SecretCatalog catalog, String name) throws Exception {
    Secret s = secret(catalog.get(name, ValidationForm.SPIFFE_VALIDATOR).orElseThrow());
    return spiffeConfig(s).getTrustDomainsList().stream().map(SPIFFECertValidatorConfig.TrustDomain::getName).toList();
  }
}
