package dev.rotor.files;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import io.spiffe.bundle.jwtbundle.JwtBundle;
import io.spiffe.exception.JwtBundleException;
import io.spiffe.spiffeid.TrustDomain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/**
 * The JWT bundle file exactly as spiffe-helper v0.11 writes it ({@code pkg/disk/json.go}): one
 * compact JSON object whose keys are trust domain names without the scheme ({@code example.org})
 * and whose values are the standard base64 of each bundle re-encoded as a compact JWKS.
 *
 * <p>spiffe-helper does not copy the agent's bytes (SPIRE's agent sends an indented JWKS keyed by
 * {@code spiffe://example.org}): go-spiffe parses each JWKS into key ID → public key ({@code
 * jwtbundle.Parse}) and marshals it again ({@code Bundle.Marshal}, go-jose's {@code JSONWebKey}).
 * So this does the same: java-spiffe's {@link JwtBundle#parse} (the same rules: every key needs a
 * {@code kid}; {@code use}, {@code alg} and {@code x5c} are dropped) and go-jose's member order
 * ({@code kty, kid, crv, x, y} for EC, {@code kty, kid, n, e} for RSA; coordinates padded to the
 * curve's size, RSA integers without leading zeros, all base64url without padding), with
 * encoding/json's escaping of {@code < > &} and U+2028/U+2029. Tested byte for byte against
 * spiffe-helper's own output ({@code JwtBundleJsonTest}).
 *
 * <p>Where spiffe-helper is not deterministic Rotor is: go-spiffe keeps the keys in a Go map, so a
 * bundle with several keys comes out in a random order on every write; here they are sorted by key
 * ID, so the file changes only when the keys do. A bundle without keys is {@code {"keys":[]}}, not
 * go-jose's {@code {"keys":null}}, which JWKS readers such as Nimbus refuse.
 */
final class JwtBundleJson {

  private static final JsonFactory JSON = new JsonFactory();

  private JwtBundleJson() {}

  /**
   * Renders the agent's bundles.
   *
   * @param jwksByTrustDomain each JWKS document as the agent sent it, keyed by trust domain ({@code
   *     spiffe://example.org} or {@code example.org}, as go-spiffe accepts both)
   * @throws IllegalArgumentException naming the trust domain when a key cannot be read (the file
   *     is then not written, as spiffe-helper writes nothing when go-spiffe cannot parse the set)
   */
  static byte[] render(Map<String, byte[]> jwksByTrustDomain) {
    Map<String, String> byName = new TreeMap<>(); // encoding/json sorts map keys
    jwksByTrustDomain.forEach((id, jwks) -> {
      TrustDomain td;
      try {
        td = TrustDomain.parse(id);
      } catch (RuntimeException e) { // java-spiffe's InvalidSpiffeIdException
        throw new IllegalArgumentException("the agent sent a JWT bundle for \"" + id + "\", which is not a trust"
            + " domain (" + e.getMessage() + ")", e);
      }
      JwtBundle bundle;
      try {
        bundle = JwtBundle.parse(td, jwks);
      } catch (JwtBundleException | RuntimeException e) {
        throw new IllegalArgumentException("the agent's JWT bundle for " + td.getName() + " is not a usable JWKS ("
            + e.getMessage() + ")", e);
      }
      if (byName.put(td.getName(), Base64.getEncoder().encodeToString(jwks(bundle))) != null) {
        throw new IllegalArgumentException("the agent sent two JWT bundles for " + td.getName());
      }
    });
    return write(g -> {
      g.writeStartObject();
      for (Map.Entry<String, String> e : byName.entrySet()) {
        g.writeStringField(e.getKey(), e.getValue());
      }
      g.writeEndObject();
    });
  }

  /** One bundle as go-spiffe's {@code Bundle.Marshal} writes it, keys sorted by key ID. */
  private static byte[] jwks(JwtBundle bundle) {
    Map<String, PublicKey> keys = new TreeMap<>(bundle.getJwtAuthorities());
    return write(g -> {
      g.writeStartObject();
      g.writeArrayFieldStart("keys");
      for (Map.Entry<String, PublicKey> k : keys.entrySet()) {
        writeKey(g, k.getKey(), k.getValue(), bundle.getTrustDomain());
      }
      g.writeEndArray();
      g.writeEndObject();
    });
  }

  private static void writeKey(JsonGenerator g, String kid, PublicKey key, TrustDomain td) throws IOException {
    g.writeStartObject();
    if (key instanceof ECPublicKey ec) {
      Curve curve = Curve.forECParameterSpec(ec.getParams());
      if (curve == null) {
        throw new IllegalArgumentException("the agent's JWT bundle for " + td.getName() + ": key " + kid
            + " is on a curve JWKS cannot name");
      }
      ECKey jwk = new ECKey.Builder(curve, ec).build(); // pads x and y to the curve's size, as go-jose
      g.writeStringField("kty", "EC");
      g.writeStringField("kid", kid);
      g.writeStringField("crv", curve.getName());
      g.writeStringField("x", jwk.getX().toString());
      g.writeStringField("y", jwk.getY().toString());
    } else if (key instanceof RSAPublicKey rsa) {
      RSAKey jwk = new RSAKey.Builder(rsa).build(); // unsigned, no leading zeros, as go-jose
      g.writeStringField("kty", "RSA");
      g.writeStringField("kid", kid);
      g.writeStringField("n", jwk.getModulus().toString());
      g.writeStringField("e", jwk.getPublicExponent().toString());
    } else {
      throw new IllegalArgumentException("the agent's JWT bundle for " + td.getName() + ": key " + kid + " is "
          + key.getAlgorithm() + " (expected EC or RSA, the key types SPIRE signs JWT-SVIDs with)");
    }
    g.writeEndObject();
  }

  private interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  private static byte[] write(Body body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.setCharacterEscapes(GoEscapes.INSTANCE);
      body.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** encoding/json's escaping beyond JSON's: {@code < > &} and the JavaScript line separators. */
  private static final class GoEscapes extends CharacterEscapes {
    static final GoEscapes INSTANCE = new GoEscapes();
    private static final int[] ASCII = standardAsciiEscapesForJSON();

    static {
      ASCII['<'] = ESCAPE_CUSTOM;
      ASCII['>'] = ESCAPE_CUSTOM;
      ASCII['&'] = ESCAPE_CUSTOM;
    }

    @Override
    public int[] getEscapeCodesForAscii() {
      return ASCII;
    }

    @Override
    public SerializableString getEscapeSequence(int ch) {
      return ch == '<' || ch == '>' || ch == '&' || ch == 0x2028 || ch == 0x2029
          ? new SerializedString(String.format("\\u%04x", ch)) : null;
    }
  }
}
