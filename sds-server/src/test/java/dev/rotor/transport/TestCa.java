package dev.rotor.transport;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away SPIFFE certificate authority for tests: a self-signed CA for one trust domain (URI
 * SAN {@code spiffe://<td>}, basicConstraints CA) that issues EC P-256 X.509-SVIDs with one URI
 * SAN. Keys come from the JDK provider, as they would from the Workload API.
 */
final class TestCa {

  private static final SecureRandom RANDOM = new SecureRandom();

  final TrustDomain trustDomain;
  final X509Certificate certificate;
  private final KeyPair keys;

  private TestCa(TrustDomain trustDomain, X509Certificate certificate, KeyPair keys) {
    this.trustDomain = trustDomain;
    this.certificate = certificate;
    this.keys = keys;
  }

  /** A CA valid from {@code now - 1 day} to {@code now + 1 day}. */
  static TestCa create(String trustDomain, Instant now) {
    TrustDomain td = TrustDomain.parse(trustDomain);
    KeyPair keys = ecKeyPair();
    X500Name name = new X500Name("O=Rotor test,CN=" + trustDomain);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
          name, serial(), Date.from(now.minusSeconds(86400)), Date.from(now.plusSeconds(86400)), name, keys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()))
          .addExtension(Extension.subjectAlternativeName, false,
              new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, td.toIdString())));
      return new TestCa(td, sign(builder, keys), keys);
    } catch (Exception e) {
      throw new IllegalStateException("cannot build test CA for " + trustDomain, e);
    }
  }

  /** An SVID for {@code path} in this trust domain, valid in [notBefore, notAfter]. */
  Svid issue(String path, Instant notBefore, Instant notAfter) {
    return issue(SpiffeId.parse(trustDomain.toIdString() + path), notBefore, notAfter);
  }

  /** An SVID for {@code id} (which may even be outside this trust domain), signed by this CA. */
  Svid issue(SpiffeId id, Instant notBefore, Instant notAfter) {
    KeyPair leafKeys = ecKeyPair();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
          certificate, serial(), Date.from(notBefore), Date.from(notAfter), new X500Name("O=Rotor test"), leafKeys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true,
              new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.keyAgreement))
          .addExtension(Extension.extendedKeyUsage, false,
              new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
          .addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(leafKeys.getPublic()))
          .addExtension(Extension.subjectAlternativeName, true,
              new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
      return new Svid(id, List.of(sign(builder, keys)), leafKeys.getPrivate(), "");
    } catch (Exception e) {
      throw new IllegalStateException("cannot issue test SVID for " + id, e);
    }
  }

  TrustBundle bundle() {
    return TrustBundle.of(trustDomain, List.of(certificate));
  }

  /** A snapshot with {@code svid} as the default SVID and the given bundles. */
  static IdentitySnapshot snapshot(Svid svid, TrustBundle... bundles) {
    Map<TrustDomain, TrustBundle> byDomain = new java.util.HashMap<>();
    for (TrustBundle b : bundles) {
      byDomain.put(b.trustDomain(), b);
    }
    return IdentitySnapshot.of(List.of(svid), byDomain);
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer) throws Exception {
    return new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  private static KeyPair ecKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no EC P-256 in this JDK", e);
    }
  }
}
