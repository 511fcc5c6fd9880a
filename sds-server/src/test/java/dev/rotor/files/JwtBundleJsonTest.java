package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The JWT bundle file against spiffe-helper's own output. The fixtures in
 * src/test/resources/spiffe-helper/ are what SPIRE's agent sent and what spiffe-helper v0.11.0 wrote
 * from it (README.md there says how each was made); both files are parsed and compared.
 */
class JwtBundleJsonTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void realAgentBundle_isWrittenByteForByteAsSpiffeHelperWroteIt() throws Exception {
    // SPIRE v1.13.3's agent answer (indented, keyed spiffe://example.org) and spiffe-helper v0.11.0's file.
    byte[] agent = resource("agent-jwks-example.org.json");
    byte[] spiffeHelper = resource("spiffe-helper-jwt_bundle-example.org.json");

    byte[] rotor = JwtBundleJson.render(Map.of("spiffe://example.org", agent));

    assertThat(new String(rotor, StandardCharsets.UTF_8)).isEqualTo(new String(spiffeHelper, StandardCharsets.UTF_8));
    assertSameKeys(rotor, spiffeHelper);
    assertThat(keysOf(rotor).keySet()).containsExactly("example.org"); // no scheme
  }

  @Test
  void rsaAndP384Bundles_withUseAlgAndHtmlCharacters_matchSpiffeHelpersWriter() throws Exception {
    // Made by spiffe-helper's pkg/disk.WriteJWTBundleSet on go-spiffe's jwtbundle.Parse of these inputs.
    Map<String, byte[]> agent = new LinkedHashMap<>();
    agent.put("spiffe://rsa.example", resource("agent-jwks-rsa.example.json"));
    agent.put("spiffe://p384.example", resource("agent-jwks-p384.example.json"));
    byte[] spiffeHelper = resource("spiffe-helper-jwt_bundle-rsa-p384.json");

    byte[] rotor = JwtBundleJson.render(agent);

    assertThat(new String(rotor, StandardCharsets.UTF_8)).isEqualTo(new String(spiffeHelper, StandardCharsets.UTF_8));
    assertSameKeys(rotor, spiffeHelper);
    String rsa = new String(Base64.getDecoder().decode(JSON.readTree(rotor).get("rsa.example").asText()),
        StandardCharsets.UTF_8);
    assertThat(rsa).contains("\"kid\":\"rsa-key\\u003c\\u0026\\u003e\"").doesNotContain("\"use\"");
  }

  @Test
  void severalKeys_areSortedByKeyId_soTheFileChangesOnlyWithTheKeys() throws Exception {
    String one = keyObject(resource("agent-jwks-example.org.json"));
    String b = one.replace("76rBXvEL1ehSYD5xyxsYTNuvet1cFPC3", "b-key");
    String a = one.replace("76rBXvEL1ehSYD5xyxsYTNuvet1cFPC3", "a-key");
    byte[] ba = ("{\"keys\":[" + b + "," + a + "]}").getBytes(StandardCharsets.UTF_8);
    byte[] ab = ("{\"keys\":[" + a + "," + b + "]}").getBytes(StandardCharsets.UTF_8);

    byte[] first = JwtBundleJson.render(Map.of("example.org", ba));

    assertThat(first).isEqualTo(JwtBundleJson.render(Map.of("spiffe://example.org", ab)));
    String jwks = new String(Base64.getDecoder().decode(JSON.readTree(first).get("example.org").asText()),
        StandardCharsets.UTF_8);
    assertThat(jwks.indexOf("a-key")).isLessThan(jwks.indexOf("b-key"));
  }

  @Test
  void emptyBundle_isAnEmptyKeyList_whichJwksReadersAccept() throws Exception {
    byte[] rotor = JwtBundleJson.render(Map.of("spiffe://example.org", "{\"keys\":[]}".getBytes(StandardCharsets.UTF_8)));

    String jwks = new String(Base64.getDecoder().decode(JSON.readTree(rotor).get("example.org").asText()),
        StandardCharsets.UTF_8);
    assertThat(jwks).isEqualTo("{\"keys\":[]}");
    assertThat(JwtBundle.parse(TrustDomain.parse("example.org"), jwks.getBytes(StandardCharsets.UTF_8))
        .getJwtAuthorities()).isEmpty();
  }

  @Test
  void keyWithoutKid_isRefusedNamingTheTrustDomain() throws Exception {
    String noKid = keyObject(resource("agent-jwks-example.org.json")).replaceAll("\"kid\"\\s*:\\s*\"[^\"]*\",", "");

    assertThatThrownBy(() -> JwtBundleJson.render(Map.of("spiffe://example.org",
        ("{\"keys\":[" + noKid + "]}").getBytes(StandardCharsets.UTF_8))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("the agent's JWT bundle for example.org is not a usable JWKS (");
  }

  @Test
  void notATrustDomain_isRefused() {
    assertThatThrownBy(() -> JwtBundleJson.render(Map.of("spiffe://Bad Domain", "{\"keys\":[]}".getBytes(
        StandardCharsets.UTF_8))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("the agent sent a JWT bundle for \"spiffe://Bad Domain\", which is not a trust domain");
  }

  /** Both files, parsed as a reader would: the same trust domains with the same public keys. */
  private static void assertSameKeys(byte[] rotor, byte[] spiffeHelper) throws Exception {
    Map<String, Map<String, PublicKey>> a = keysOf(rotor);
    Map<String, Map<String, PublicKey>> b = keysOf(spiffeHelper);
    assertThat(a).isEqualTo(b);
    assertThat(a.values()).allSatisfy(keys -> assertThat(keys).isNotEmpty());
  }

  private static Map<String, Map<String, PublicKey>> keysOf(byte[] file) throws Exception {
    Map<String, Map<String, PublicKey>> out = new LinkedHashMap<>();
    JsonNode root = JSON.readTree(file);
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      byte[] jwks = Base64.getDecoder().decode(e.getValue().asText());
      out.put(e.getKey(), JwtBundle.parse(TrustDomain.parse(e.getKey()), jwks).getJwtAuthorities());
    }
    return out;
  }

  private static String keyObject(byte[] jwks) throws IOException {
    return JSON.writeValueAsString(JSON.readTree(jwks).get("keys").get(0));
  }

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = JwtBundleJsonTest.class.getResourceAsStream("/spiffe-helper/" + name)) {
      assertThat(in).as(name).isNotNull();
      return in.readAllBytes();
    }
  }
}
