package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.files.HelperConfig.FileSettings;
import dev.rotor.files.HelperConfig.Pkcs12Output;
import dev.rotor.files.HelperConfig.X509Output;
import dev.rotor.files.X509Outputs.Rendered;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Pem;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.testing.TestPki;
import io.spiffe.spiffeid.TrustDomain;
import java.io.ByteArrayInputStream;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** What goes into each file, as spiffe-helper's pkg/disk writes it, and the extra key forms. */
class X509OutputsTest {

  private static final FileSettings MODES = new FileSettings(0644, 0600, 0600, 0600, Optional.empty(),
      Optional.empty());

  private final TestPki own = TestPki.forTrustDomain("example.org");
  private final X509Certificate intermediate = TestPki.forTrustDomain("intermediate.example.org").caCertificate();
  private final X509Certificate expired = own.issue("/old", Duration.ofSeconds(-30)).leaf();
  private final TestPki federatedA = TestPki.forTrustDomain("aaa.org");
  private final TestPki federatedZ = TestPki.forTrustDomain("zzz.org");
  private final Svid db = withChain(own.issue("/db"), "db", intermediate, expired);
  private final Svid api = withChain(own.issue("/api"), "api");

  private static Svid withChain(Svid s, String hint, X509Certificate... intermediates) {
    List<X509Certificate> chain = new ArrayList<>(List.of(s.leaf()));
    chain.addAll(List.of(intermediates));
    return new Svid(s.spiffeId(), chain, s.privateKey(), hint);
  }

  private IdentitySnapshot snapshot(Svid... svids) {
    Map<TrustDomain, TrustBundle> bundles = new TreeMap<>((a, b) -> a.getName().compareTo(b.getName()));
    bundles.put(own.trustDomain(), own.bundle());
    bundles.put(federatedZ.trustDomain(), federatedZ.bundle());
    bundles.put(federatedA.trustDomain(), federatedA.bundle());
    return IdentitySnapshot.of(List.of(svids), bundles);
  }

  private static X509Output out(boolean addIntermediates, boolean federated, boolean omitExpired) {
    return new X509Output("svid.pem", "svid_key.pem", "svid_bundle.pem", addIntermediates, federated, omitExpired,
        Optional.empty(), Optional.empty());
  }

  private static Rendered render(IdentitySnapshot s, X509Output out, String hint) throws Exception {
    return X509Outputs.render(s, out, MODES, hint, Instant.now(), Optional.empty());
  }

  private static byte[] file(Rendered r, String name) {
    return r.files().stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow().content();
  }

  private static byte[] pem(X509Certificate... certs) {
    return Pem.certificates(List.of(certs));
  }

  @Test
  void defaults_chainInSvidFile_keyAsPkcs8Pem_ownBundle() throws Exception {
    Rendered r = render(snapshot(db, api), out(false, false, false), "");
    assertThat(r.files()).extracting(OutputFile::name).containsExactly("svid.pem", "svid_key.pem", "svid_bundle.pem");
    assertThat(file(r, "svid.pem")).isEqualTo(pem(db.leaf(), intermediate, expired));
    assertThat(file(r, "svid_key.pem")).isEqualTo(Pem.privateKey(db.privateKey()));
    assertThat(new String(file(r, "svid_key.pem"))).startsWith("-----BEGIN PRIVATE KEY-----\n");
    assertThat(file(r, "svid_bundle.pem")).isEqualTo(pem(own.caCertificate()));
    assertThat(r.files()).extracting(f -> f.spec().mode()).containsExactly(0644, 0600, 0644);
    assertThat(r.svid()).isSameAs(db);
  }

  @Test
  void addIntermediatesToBundle_movesThemAfterTheAuthorities() throws Exception {
    Rendered r = render(snapshot(db), out(true, false, false), "");
    assertThat(file(r, "svid.pem")).isEqualTo(pem(db.leaf()));
    assertThat(file(r, "svid_bundle.pem")).isEqualTo(pem(own.caCertificate(), intermediate, expired));
  }

  @Test
  void includeFederatedDomains_appendsTheOthersByTrustDomainName() throws Exception {
    Rendered r = render(snapshot(db), out(false, true, false), "");
    assertThat(file(r, "svid_bundle.pem"))
        .isEqualTo(pem(own.caCertificate(), federatedA.caCertificate(), federatedZ.caCertificate()));
  }

  @Test
  void omitExpired_dropsExpiredCertificatesFromChainAndBundle() throws Exception {
    Rendered r = render(snapshot(db), out(false, false, true), "");
    assertThat(file(r, "svid.pem")).isEqualTo(pem(db.leaf(), intermediate));
    Rendered moved = render(snapshot(db), out(true, false, true), "");
    assertThat(file(moved, "svid_bundle.pem")).isEqualTo(pem(own.caCertificate(), intermediate));
  }

  @Test
  void hint_selectsTheSvid() throws Exception {
    assertThat(render(snapshot(db, api), out(false, false, false), "api").svid()).isSameAs(api);
  }

  @Test
  void hint_withoutAMatch_isAnError_andNothingIsRendered() {
    assertThatThrownBy(() -> render(snapshot(db, api), out(false, false, false), "web"))
        .hasMessage("hint: no SVID has hint \"web\" (the agent's SVIDs have hints \"db\", \"api\"); nothing written");
  }

  @Test
  void noSvid_isAnError() {
    assertThatThrownBy(() -> render(snapshot(), out(false, false, false), ""))
        .hasMessageStartingWith("the served identity has no SVID");
  }

  @Test
  void digest_isDeterministic_andFollowsContent() throws Exception {
    X509Output x = out(false, false, false);
    assertThat(render(snapshot(db, api), x, "").digest()).isEqualTo(render(snapshot(db, api), x, "").digest());
    assertThat(render(snapshot(db, api), x, "").digest()).isNotEqualTo(render(snapshot(db, api), x, "api").digest());
    // A federated bundle the files do not include changes nothing on disk.
    IdentitySnapshot withoutFederated = IdentitySnapshot.of(List.of(db), Map.of(own.trustDomain(), own.bundle()));
    assertThat(render(withoutFederated, x, "").digest()).isEqualTo(render(snapshot(db), x, "").digest());
  }

  @Test
  void pkcs8Der_isTheKeysEncoding() throws Exception {
    X509Output x = new X509Output("svid.pem", "svid_key.pem", "svid_bundle.pem", false, false, false,
        Optional.of("svid.pk8"), Optional.empty());
    Rendered r = render(snapshot(db), x, "");
    byte[] der = file(r, "svid.pk8");
    assertThat(KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der)))
        .isEqualTo(db.privateKey());
    assertThat(r.files().get(3).spec().mode()).isEqualTo(0600);
  }

  // The JDK's keystore checks that each certificate of a chain issued the one before: these use the
  // SVID whose chain is real (the others carry unrelated "intermediates" to test file contents).
  @Test
  void pkcs12_holdsKeyWithChain_andTheBundleAsTrustedEntries() throws Exception {
    X509Output x = new X509Output("svid.pem", "svid_key.pem", "svid_bundle.pem", false, true, false,
        Optional.empty(), Optional.of(new Pkcs12Output("svid.p12", Optional.empty())));
    Rendered r = X509Outputs.render(snapshot(api), x, MODES, "", Instant.now(), Optional.of("pw".toCharArray()));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(new ByteArrayInputStream(file(r, "svid.p12")), "pw".toCharArray());
    assertThat(ks.getKey(X509Outputs.KEY_ALIAS, "pw".toCharArray())).isEqualTo(api.privateKey());
    // The JDK completes a chain from the store's other certificates when it loads one.
    assertThat(ks.getCertificateChain(X509Outputs.KEY_ALIAS)).startsWith(api.leaf());
    List<String> trusted = Collections.list(ks.aliases()).stream().filter(a -> !a.equals(X509Outputs.KEY_ALIAS)).sorted().toList();
    assertThat(trusted).containsExactly("bundle-0", "bundle-1", "bundle-2");
    assertThat(ks.getCertificate("bundle-0")).isEqualTo(own.caCertificate());

    String other = X509Outputs.render(snapshot(api), x, MODES, "", Instant.now(), Optional.of("pw2".toCharArray()))
        .digest();
    assertThat(other).as("a new password is new content").isNotEqualTo(r.digest());
    assertThat(X509Outputs.render(snapshot(api), x, MODES, "", Instant.now(), Optional.of("pw".toCharArray()))
        .digest()).as("the random salt is not").isEqualTo(r.digest());
  }

  @Test
  void pkcs12_defaultPassword() throws Exception {
    X509Output x = new X509Output("svid.pem", "svid_key.pem", "svid_bundle.pem", false, false, false,
        Optional.empty(), Optional.of(new Pkcs12Output("svid.p12", Optional.empty())));
    Rendered r = render(snapshot(api), x, "");
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(new ByteArrayInputStream(file(r, "svid.p12")), "changeit".toCharArray());
    assertThat(ks.isKeyEntry("user")).isTrue();
  }
}
