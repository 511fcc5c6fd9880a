package dev.rotor.testing;

import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A test-only SPIFFE certificate authority: EC P-256, a self-signed CA whose URI SAN is {@code
 * spiffe://<trust-domain>}, and leaves with exactly one URI SAN (the SPIFFE ID), as SPIRE issues
 * them. Every issued certificate has a fresh serial, so every {@link #issue} is a real rotation.
 *
 * <p>The same helper as xds-api's test TestPki: test classes are not shared between modules
 * (that would need a test-jar in the POMs), so each module keeps its own copy.
 */
public final class TestPki {

  private static final AtomicLong SERIALS = new AtomicLong(1000);

  private final TrustDomain trustDomain;
  private final KeyPair caKeys;
  private final X509Certificate caCert;

  private TestPki(TrustDomain trustDomain) {
    this.trustDomain = trustDomain;
    this.caKeys = newKeyPair();
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    this.caCert = sign(new X500Name("CN=" + trustDomain.getName() + " test CA"), caKeys.getPublic(),
        trustDomain.toIdString(), now.minus(Duration.ofMinutes(1)), now.plus(Duration.ofDays(1)), true);
  }

  /** A new CA for {@code trustDomain} (a bare name such as {@code example.org}). */
  public static TestPki forTrustDomain(String trustDomain) {
    return new TestPki(TrustDomain.parse(trustDomain));
  }

  public TrustDomain trustDomain() {
    return trustDomain;
  }

  public X509Certificate caCertificate() {
    return caCert;
  }

  /** The bundle holding this CA's certificate. */
  public TrustBundle bundle() {
    return TrustBundle.of(trustDomain, List.of(caCert));
  }

  /** An X.509-SVID for {@code path} (e.g. {@code /workload}) valid for an hour from now. */
  public Svid issue(String path) {
    return issue(path, Duration.ofHours(1));
  }

  public Svid issue(String path, Duration ttl) {
    SpiffeId id = SpiffeId.parse(trustDomain.toIdString() + path);
    KeyPair leafKeys = newKeyPair();
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    X509Certificate leaf = sign(new X500Name("O=SPIRE"), leafKeys.getPublic(), id.toString(),
        now.minus(Duration.ofMinutes(1)), now.plus(ttl), false);
    return new Svid(id, List.of(leaf), leafKeys.getPrivate(), "");
  }

  private X509Certificate sign(X500Name subject, PublicKey subjectKey, String uriSan, Instant notBefore,
      Instant notAfter, boolean ca) {
    // The CA signs itself and every leaf.
    PrivateKey issuerKey = caKeys.getPrivate();
    X500Name issuer = ca ? subject : X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded());
    try {
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer,
          BigInteger.valueOf(SERIALS.incrementAndGet()), Date.from(notBefore), Date.from(notAfter), subject, subjectKey);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      b.addExtension(Extension.keyUsage, true, ca
          ? new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign)
          : new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.keyAgreement));
      b.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uriSan)));
      return new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
      throw new IllegalStateException("test certificate for " + uriSan + " could not be made", e);
    }
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC P-256 key pair", e);
    }
  }
}
