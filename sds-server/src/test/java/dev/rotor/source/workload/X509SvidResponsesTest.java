package dev.rotor.source.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.workloadapi.grpc.Workload.X509SVID;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class X509SvidResponsesTest {

  private static final TestPki EXAMPLE = TestPki.forTrustDomain("example.org");
  private static final TestPki PARTNER = TestPki.forTrustDomain("partner.org");
  private static final TestPki THIRD = TestPki.forTrustDomain("third.org");

  private static final String FRONTEND = "spiffe://example.org/ns/demo/sa/frontend";
  private static final String BACKEND = "spiffe://example.org/ns/demo/sa/backend";

  @Test
  void everySvidInOrder_withHintChainAndKey() throws Exception {
    TestPki.Issued intermediate = EXAMPLE.intermediate();
    TestPki.Issued backendLeaf = EXAMPLE.leaf(BACKEND, intermediate);
    X509SVID backend = X509SVID.newBuilder(EXAMPLE.svid(BACKEND, backendLeaf, "db"))
        .setX509Svid(ByteString.copyFrom(backendLeaf.der()).concat(ByteString.copyFrom(intermediate.der())))
        .build();
    X509SVIDResponse response = X509SVIDResponse.newBuilder()
        .addSvids(EXAMPLE.svid(FRONTEND, "internal"))
        .addSvids(backend)
        .build();

    IdentitySnapshot snapshot = X509SvidResponses.toSnapshot(response);

    assertThat(snapshot.svids()).extracting(s -> s.spiffeId().toString()).containsExactly(FRONTEND, BACKEND);
    assertThat(snapshot.svids()).extracting(Svid::hint).containsExactly("internal", "db");
    Svid second = snapshot.svids().get(1);
    assertThat(second.chain()).containsExactly(backendLeaf.cert(), intermediate.cert());
    assertThat(second.privateKey().getEncoded()).isEqualTo(backendLeaf.keyPkcs8());
    assertThat(snapshot.bundles()).containsOnlyKeys(TrustDomain.parse("example.org"));
    assertThat(snapshot.bundle(TrustDomain.parse("example.org")).orElseThrow().authorities())
        .containsExactly(EXAMPLE.rootCert());
  }

  @Test
  void federatedBundles_acceptBothKeyForms() throws Exception {
    X509SVIDResponse response = X509SVIDResponse.newBuilder()
        .addSvids(EXAMPLE.svid(FRONTEND, ""))
        .putFederatedBundles("spiffe://partner.org", PARTNER.bundleDer())
        .putFederatedBundles("third.org", THIRD.bundleDer())
        .build();

    IdentitySnapshot snapshot = X509SvidResponses.toSnapshot(response);

    assertThat(snapshot.bundles()).containsOnlyKeys(
        TrustDomain.parse("example.org"), TrustDomain.parse("partner.org"), TrustDomain.parse("third.org"));
    assertThat(snapshot.bundle(TrustDomain.parse("partner.org")).orElseThrow().authorities())
        .containsExactly(PARTNER.rootCert());
    assertThat(snapshot.bundle(TrustDomain.parse("third.org")).orElseThrow().authorities())
        .containsExactly(THIRD.rootCert());
  }

  @Test
  void identicalResponses_haveTheSameVersion_changedResponseAnother() throws Exception {
    X509SVIDResponse response = X509SVIDResponse.newBuilder()
        .addSvids(EXAMPLE.svid(FRONTEND, ""))
        .putFederatedBundles("partner.org", PARTNER.bundleDer())
        .build();
    X509SVIDResponse sameContentOtherKeyForm = response.toBuilder()
        .clearFederatedBundles()
        .putFederatedBundles("spiffe://partner.org", PARTNER.bundleDer())
        .build();
    X509SVIDResponse rotated = response.toBuilder().setSvids(0, EXAMPLE.svid(FRONTEND, "")).build();

    String version = X509SvidResponses.toSnapshot(response).version();

    assertThat(X509SvidResponses.toSnapshot(response).version()).isEqualTo(version);
    assertThat(X509SvidResponses.toSnapshot(sameContentOtherKeyForm).version()).isEqualTo(version);
    assertThat(X509SvidResponses.toSnapshot(rotated).version()).isNotEqualTo(version);
  }

  @Test
  void sameTrustDomainTwice_withTheSameBundle_isOneBundle() throws Exception {
    X509SVIDResponse response = X509SVIDResponse.newBuilder()
        .addSvids(EXAMPLE.svid(FRONTEND, ""))
        .addSvids(EXAMPLE.svid(BACKEND, ""))
        .putFederatedBundles("example.org", EXAMPLE.bundleDer())
        .build();

    assertThat(X509SvidResponses.toSnapshot(response).bundles()).hasSize(1);
  }

  /** One defect per row: how the good response is broken, and the start of the message. */
  static Stream<Arguments> malformed() {
    X509SVID good = EXAMPLE.svid(FRONTEND, "");
    byte[] sec1Key = sec1(good.getX509SvidKey());
    return Stream.of(
        row("no SVIDs", r -> r.clearSvids(),
            "svids: empty (expected at least one X509SVID)"),
        row("malformed SPIFFE ID", r -> r.setSvids(0, good.toBuilder().setSpiffeId("spiffe:/x")),
            "svids[0].spiffe_id: \"spiffe:/x\" is not a SPIFFE ID ("),
        row("SPIFFE ID differs from certificate", r -> r.setSvids(0, good.toBuilder().setSpiffeId(BACKEND)),
            "svids[0].spiffe_id: \"" + BACKEND + "\" does not match the certificate's URI SAN " + FRONTEND),
        row("certificate not DER", r -> r.setSvids(0, good.toBuilder().setX509Svid(ByteString.copyFromUtf8("junk"))),
            "svids[0] (" + FRONTEND + "): "),
        row("key not PKCS#8 (SEC1)", r -> r.setSvids(0, good.toBuilder().setX509SvidKey(ByteString.copyFrom(sec1Key))),
            "svids[0] (" + FRONTEND + "): "),
        row("empty bundle", r -> r.setSvids(0, good.toBuilder().setBundle(ByteString.EMPTY)),
            "svids[0].bundle: empty (expected the DER CA certificates of trust domain example.org)"),
        row("bundle not DER", r -> r.setSvids(0, good.toBuilder().setBundle(ByteString.copyFromUtf8("junk"))),
            "svids[0].bundle: not DER certificates of trust domain example.org ("),
        row("federated key with a path", r -> r.putFederatedBundles("spiffe://partner.org/x", PARTNER.bundleDer()),
            "federated_bundles[\"spiffe://partner.org/x\"]: key is not a trust domain "
                + "(expected spiffe://<trust-domain> or <trust-domain>)"),
        row("federated key not a trust domain", r -> r.putFederatedBundles("https://partner.org", PARTNER.bundleDer()),
            "federated_bundles[\"https://partner.org\"]: key is not a trust domain"),
        row("federated bundle not DER", r -> r.putFederatedBundles("partner.org", ByteString.copyFrom(new byte[] {0x30, 1})),
            "federated_bundles[\"partner.org\"]: not DER certificates of trust domain partner.org ("),
        row("own trust domain given a different federated bundle",
            r -> r.putFederatedBundles("example.org", PARTNER.bundleDer()),
            "federated_bundles[\"example.org\"]: differs from the bundle of trust domain example.org in svids[0].bundle"));
  }

  private static Arguments row(String defect, UnaryOperator<X509SVIDResponse.Builder> breakIt, String message) {
    X509SVIDResponse.Builder good = X509SVIDResponse.newBuilder().addSvids(EXAMPLE.svid(FRONTEND, ""));
    return Arguments.of(defect, breakIt.apply(good).build(), message);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformed")
  void malformedResponse_isRejectedNamingTheField(String defect, X509SVIDResponse response, String messageStart) {
    assertThatThrownBy(() -> X509SvidResponses.toSnapshot(response))
        .isInstanceOf(MalformedResponseException.class)
        .hasMessageStartingWith(messageStart);
  }

  @Test
  void errorMessages_neverContainKeyBytes() {
    X509SVID good = EXAMPLE.svid(FRONTEND, "");
    X509SVIDResponse response = X509SVIDResponse.newBuilder()
        .addSvids(good.toBuilder().setX509SvidKey(ByteString.copyFrom(sec1(good.getX509SvidKey()))))
        .build();
    assertThatThrownBy(() -> X509SvidResponses.toSnapshot(response))
        .satisfies(e -> assertThat(e.getMessage())
            .doesNotContain(java.util.HexFormat.of().formatHex(good.getX509SvidKey().toByteArray()))
            .doesNotContain(java.util.Base64.getEncoder().encodeToString(good.getX509SvidKey().toByteArray())));
  }

  /** The same EC key in SEC1 form (what `openssl ec` writes), which the Workload API never sends. */
  private static byte[] sec1(ByteString pkcs8) {
    try {
      return PrivateKeyInfo.getInstance(pkcs8.toByteArray()).parsePrivateKey().toASN1Primitive().getEncoded();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
