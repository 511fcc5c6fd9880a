package dev.rotor.it;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Reads what an SDS response carries (certificate chains, private keys, trust bundles in either
 * validation-context form) with the JDK's own X.509 code, so the checks do not share code with
 * the server under test. Nothing here renders key material into a string.
 */
public final class SecretMaterial {
  public static final String SPIFFE_VALIDATOR = "envoy.tls.cert_validator.spiffe";

  private SecretMaterial() {}

  /** Every resource of a response, unpacked. */
  public static List<Secret> secrets(DiscoveryResponse response) {
    List<Secret> secrets = new ArrayList<>();
    for (Any resource : response.getResourcesList()) {
      secrets.add(unpack(resource, Secret.class));
    }
    return secrets;
  }

  /** The names of the secrets in a response, sorted. */
  public static Set<String> names(DiscoveryResponse response) {
    return secrets(response).stream().map(Secret::getName).collect(Collectors.toCollection(TreeSet::new));
  }

  /** The secret called {@code name} in {@code response}; fails naming what was there instead. */
  public static Secret secret(DiscoveryResponse response, String name) {
    return secrets(response).stream()
        .filter(s -> s.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError(
            "no secret named " + name + " in the response (names: " + names(response) + ")"));
  }

  /** The certificate chain of a {@code tls_certificate} secret, leaf first. */
  public static List<X509Certificate> chain(Secret secret) {
    if (!secret.hasTlsCertificate()) {
      throw new AssertionError("secret " + secret.getName() + " is a " + secret.getTypeCase()
          + " (expected: TLS_CERTIFICATE)");
    }
    return certificates(inline(secret.getTlsCertificate().getCertificateChain(),
        secret.getName() + ".tls_certificate.certificate_chain"));
  }

  public static X509Certificate leaf(Secret secret) {
    return chain(secret).get(0);
  }

  /** The PKCS#8 PEM private key of a {@code tls_certificate} secret, for the key of {@code cert}. */
  public static PrivateKey privateKey(Secret secret, X509Certificate cert) {
    String pem = new String(inline(secret.getTlsCertificate().getPrivateKey(),
        secret.getName() + ".tls_certificate.private_key"), StandardCharsets.US_ASCII);
    if (!pem.contains("-----BEGIN PRIVATE KEY-----")) {
      throw new AssertionError(secret.getName()
          + ".tls_certificate.private_key is not a PKCS#8 PEM key (no BEGIN PRIVATE KEY block)");
    }
    String base64 = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
    try {
      return KeyFactory.getInstance(cert.getPublicKey().getAlgorithm())
          .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new AssertionError(secret.getName() + ".tls_certificate.private_key cannot be read as a "
          + cert.getPublicKey().getAlgorithm() + " key: " + e.getClass().getSimpleName());
    }
  }

  /** The URI SANs of a certificate (an SVID has exactly one: its SPIFFE ID). */
  public static List<String> uriSans(X509Certificate cert) {
    try {
      if (cert.getSubjectAlternativeNames() == null) {
        return List.of();
      }
      return cert.getSubjectAlternativeNames().stream()
          .filter(san -> (Integer) san.get(0) == 6)
          .map(san -> (String) san.get(1))
          .toList();
    } catch (java.security.cert.CertificateParsingException e) {
      throw new AssertionError("cannot read the SANs of " + id(cert), e);
    }
  }

  /**
   * Validates {@code chain} (leaf first) against {@code anchors} with the JDK's PKIX validator,
   * as of {@code at}; throws an AssertionError saying why it does not verify.
   */
  public static void verifyChain(List<X509Certificate> chain, List<X509Certificate> anchors, Instant at) {
    try {
      Set<TrustAnchor> trustAnchors = anchors.stream()
          .map(a -> new TrustAnchor(a, null))
          .collect(Collectors.toSet());
      PKIXParameters params = new PKIXParameters(trustAnchors);
      params.setRevocationEnabled(false);
      params.setDate(Date.from(at));
      CertPathValidator.getInstance("PKIX").validate(
          CertificateFactory.getInstance("X.509").generateCertPath(chain), params);
    } catch (GeneralSecurityException e) {
      throw new AssertionError("chain " + ids(chain) + " does not verify against " + ids(anchors)
          + " at " + at + ": " + e.getMessage(), e);
    }
  }

  /**
   * The form and content of a validation-context secret: which kind ({@code trusted_ca} or the
   * SPIFFE custom validator), and the trust bundle per trust domain, as certificate IDs.
   */
  public record ValidationContext(String form, Map<String, List<CertId>> bundles) {
    /** The form of a context with {@code trusted_ca}; its only bundle has the key "". */
    public static final String TRUSTED_CA = "trusted_ca";
  }

  public static ValidationContext validationContext(Secret secret) {
    CertificateValidationContext context = validationContextOf(secret);
    Map<String, List<CertId>> bundles = new LinkedHashMap<>();
    if (context.hasCustomValidatorConfig()) {
      for (SPIFFECertValidatorConfig.TrustDomain td : spiffeConfig(secret, context).getTrustDomainsList()) {
        bundles.put(td.getName(), ids(certificates(inline(td.getTrustBundle(),
            secret.getName() + ".trust_domains[" + td.getName() + "].trust_bundle"))));
      }
      return new ValidationContext(context.getCustomValidatorConfig().getName(), bundles);
    }
    bundles.put("", ids(certificates(inline(context.getTrustedCa(),
        secret.getName() + ".validation_context.trusted_ca"))));
    return new ValidationContext(ValidationContext.TRUSTED_CA, bundles);
  }

  /**
   * The CA certificates a validation-context secret trusts for {@code trustDomain}: from the
   * SPIFFE validator's entry for that trust domain, or from {@code trusted_ca}.
   */
  public static List<X509Certificate> anchors(Secret secret, String trustDomain) {
    CertificateValidationContext context = validationContextOf(secret);
    if (context.hasCustomValidatorConfig()) {
      return spiffeConfig(secret, context).getTrustDomainsList().stream()
          .filter(td -> td.getName().equals(trustDomain))
          .findFirst()
          .map(td -> certificates(inline(td.getTrustBundle(), secret.getName() + ".trust_bundle")))
          .orElseThrow(() -> new AssertionError("secret " + secret.getName()
              + " has no SPIFFE validator entry for trust domain " + trustDomain));
    }
    return certificates(inline(context.getTrustedCa(), secret.getName() + ".trusted_ca"));
  }

  /** A certificate named by serial, expiry and SHA-256 of its DER: exact, and readable in messages. */
  public record CertId(String serial, Instant notAfter, String sha256) {
    @Override
    public String toString() {
      return "serial " + serial + " (not after " + notAfter + ", sha256 " + sha256.substring(0, 16) + "…)";
    }
  }

  public static CertId id(X509Certificate cert) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(cert.getEncoded());
      return new CertId(cert.getSerialNumber().toString(16), cert.getNotAfter().toInstant(),
          HexFormat.of().formatHex(digest));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static List<CertId> ids(List<X509Certificate> certs) {
    return certs.stream().map(SecretMaterial::id).toList();
  }

  /** Parses one or more concatenated PEM certificates. */
  public static List<X509Certificate> certificates(byte[] pem) {
    try {
      List<X509Certificate> certs = new ArrayList<>();
      for (var cert : CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(pem))) {
        certs.add((X509Certificate) cert);
      }
      if (certs.isEmpty()) {
        throw new AssertionError("no certificate in " + pem.length + " bytes of PEM");
      }
      return certs;
    } catch (GeneralSecurityException e) {
      throw new AssertionError("cannot parse PEM certificates: " + e.getMessage(), e);
    }
  }

  /** The SPIFFE ID of a leaf: its single URI SAN. */
  public static URI spiffeId(X509Certificate leaf) {
    List<String> uris = uriSans(leaf);
    if (uris.size() != 1) {
      throw new AssertionError(id(leaf) + " has URI SANs " + uris + " (expected: exactly one)");
    }
    return URI.create(uris.get(0));
  }

  private static CertificateValidationContext validationContextOf(Secret secret) {
    if (!secret.hasValidationContext()) {
      throw new AssertionError("secret " + secret.getName() + " is a " + secret.getTypeCase()
          + " (expected: VALIDATION_CONTEXT)");
    }
    return secret.getValidationContext();
  }

  private static SPIFFECertValidatorConfig spiffeConfig(Secret secret, CertificateValidationContext context) {
    if (!context.getCustomValidatorConfig().getName().equals(SPIFFE_VALIDATOR)) {
      throw new AssertionError("secret " + secret.getName() + " uses custom validator "
          + context.getCustomValidatorConfig().getName() + " (expected: " + SPIFFE_VALIDATOR + ")");
    }
    return unpack(context.getCustomValidatorConfig().getTypedConfig(), SPIFFECertValidatorConfig.class);
  }

  private static byte[] inline(DataSource source, String field) {
    if (source.getSpecifierCase() == DataSource.SpecifierCase.INLINE_BYTES) {
      return source.getInlineBytes().toByteArray();
    }
    if (source.getSpecifierCase() == DataSource.SpecifierCase.INLINE_STRING) {
      return source.getInlineString().getBytes(StandardCharsets.UTF_8);
    }
    throw new AssertionError(field + " is " + source.getSpecifierCase()
        + " (expected: inline_bytes or inline_string)");
  }

  private static <T extends com.google.protobuf.Message> T unpack(Any any, Class<T> type) {
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("resource of type " + any.getTypeUrl() + " is not a "
          + type.getSimpleName() + ": " + e.getMessage(), e);
    }
  }
}
