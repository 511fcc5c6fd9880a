package dev.rotor.sds.conformance;

import static dev.rotor.sds.conformance.TestIdentities.EXAMPLE;
import static dev.rotor.sds.conformance.TestIdentities.OWN_BUNDLE;
import static dev.rotor.sds.conformance.TestIdentities.PARTNER;
import static dev.rotor.sds.conformance.TestIdentities.PARTNER_BUNDLE;
import static dev.rotor.sds.conformance.TestIdentities.WORKLOAD;
import static dev.rotor.sds.conformance.Wire.names;
import static dev.rotor.sds.conformance.Wire.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.TrustBundle;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.spiffe.spiffeid.TrustDomain;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What an SDS request with no names (a wildcard) is entitled to, for a pod-local Rotor.
 *
 * <p>"Entitled" here: the transport has already admitted the caller (its UID on the Unix socket,
 * its SPIFFE ID on TCP), and a pod-local Rotor holds nothing but the identities the SPIRE agent
 * issued to the pod's workload. So an admitted caller is entitled to those identities and their
 * trust bundles, each under its canonical name (SVIDs by SPIFFE ID, bundles by
 * {@code spiffe://<trust-domain>}), and to nothing else: no alias (which would serve one key
 * twice under another name), no other workload's SVID (Rotor never holds one), and nothing
 * chosen by what the client says about itself in {@code node}, which it may forge.
 */
class WildcardEntitlementTest {

  private static final String SECOND = "spiffe://example.org/workload-b";

  private final SdsHarness sds = new SdsHarness();

  @AfterEach
  void stop() throws InterruptedException {
    sds.close();
  }

  @Test
  void wildcardWithTwoSvids_isEachSvidByItsIdAndEachBundle_eachCertificateWithItsOwnKey() throws Exception {
    sds.publish(twoSvids());
    var peer = sds.sotw();

    peer.send(subscribe());

    DiscoveryResponse r = peer.awaitResponse();
    assertThat(names(r)).containsExactlyInAnyOrder(WORKLOAD, SECOND, OWN_BUNDLE, PARTNER_BUNDLE);
    for (String id : List.of(WORKLOAD, SECOND)) {
      Secret s = Wire.secret(r, id);
      X509Certificate leaf = leaf(s);
      assertThat(leaf.getSubjectAlternativeNames()).as("URI SAN of the secret named " + id)
          .anySatisfy(san -> assertThat(san.get(1)).isEqualTo(id));
      assertThat(signsFor(privateKey(s), leaf)).as("the key served with " + id + " is its certificate's").isTrue();
    }
  }

  @Test
  void wildcardIsTheSameWhateverTheNodeSaysItIs() {
    sds.publish(twoSvids());
    Node backend = Wire.NODE.toBuilder().setId("backend-7").setCluster("backend").build();
    Node impostor = Wire.NODE.toBuilder().setId(WORKLOAD).setCluster("spiffe://partner.test/admin")
        .setMetadata(Struct.newBuilder().putFields("spiffe_id", Value.newBuilder().setStringValue(
            "spiffe://partner.test/admin").build())).build();
    Map<String, DiscoveryResponse> answers = new LinkedHashMap<>();
    for (Node node : List.of(Wire.NODE, backend, impostor)) {
      var peer = sds.sotw();
      peer.send(subscribe(node));
      answers.put(node.getId(), peer.awaitResponse());
    }

    DiscoveryResponse first = answers.values().iterator().next();
    answers.forEach((node, r) -> {
      assertThat(names(r)).as("names for node " + node).containsExactlyInAnyOrderElementsOf(names(first));
      assertThat(r.getVersionInfo()).as("version for node " + node).isEqualTo(first.getVersionInfo());
    });
  }

  private static IdentitySnapshot twoSvids() {
    Map<TrustDomain, TrustBundle> bundles = new LinkedHashMap<>();
    bundles.put(EXAMPLE.trustDomain(), EXAMPLE.bundle());
    bundles.put(PARTNER.trustDomain(), PARTNER.bundle());
    // Two SVIDs for one workload, as SPIRE issues with two entries for the same selectors.
    return IdentitySnapshot.of(List.of(EXAMPLE.issue("/workload"), EXAMPLE.issue("/workload-b")), bundles);
  }

  private static X509Certificate leaf(Secret s) throws Exception {
    byte[] pem = s.getTlsCertificate().getCertificateChain().getInlineBytes().toByteArray();
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem));
  }

  private static PrivateKey privateKey(Secret s) throws Exception {
    String pem = s.getTlsCertificate().getPrivateKey().getInlineBytes().toString(StandardCharsets.US_ASCII);
    byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
    return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
  }

  private static boolean signsFor(PrivateKey key, X509Certificate cert) throws Exception {
    byte[] data = "entitled".getBytes(StandardCharsets.US_ASCII);
    Signature signer = Signature.getInstance("SHA256withECDSA");
    signer.initSign(key);
    signer.update(data);
    Signature verifier = Signature.getInstance("SHA256withECDSA");
    verifier.initVerify(cert.getPublicKey());
    verifier.update(data);
    return verifier.verify(signer.sign());
  }
}
