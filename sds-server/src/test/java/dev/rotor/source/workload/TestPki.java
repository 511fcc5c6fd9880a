package dev.rotor.source.workload;

import com.google.protobuf.ByteString;
import io.spiffe.workloadapi.grpc.Workload.X509SVID;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A test certificate authority for one trust domain, EC P-256: a self-signed root with URI SAN
 * {@code spiffe://<td>}, optional intermediates, and leaf SVIDs with a single URI SAN. Builds the
 * Workload API {@link X509SVID} messages the fake agent sends. Test-only.
 */
final class TestPki {

  /** A certificate with the key pair it certifies. */
  record Issued(X509Certificate cert, KeyPair keyPair) {
    byte[] der() {
      try {
        return cert.getEncoded();
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    /** The private key as PKCS#8 DER, the form the Workload API sends. */
    byte[] keyPkcs8() {
      return keyPair.getPrivate().getEncoded();
    }

    @Override
    public String toString() {
      return "Issued{" + cert.getSubjectX500Principal() + ", serial=" + cert.getSerialNumber() + "}";
    }
  }

  private static final AtomicLong SERIALS = new AtomicLong(1000);

  private final String trustDomain;
  private final Issued root;

  private TestPki(String trustDomain, Issued root) {
    this.trustDomain = trustDomain;
    this.root = root;
  }

  static TestPki forTrustDomain(String trustDomain) {
    KeyPair key = ecKeyPair();
    X500Name name = new X500Name("O=Rotor Test,CN=" + trustDomain + " root");
    X509Certificate cert = sign(name, key, name, key.getPublic(), "spiffe://" + trustDomain, true);
    return new TestPki(trustDomain, new Issued(cert, key));
  }

  String trustDomain() {
    return trustDomain;
  }

  X509Certificate rootCert() {
    return root.cert();
  }

  /** The bundle as the Workload API sends it: DER certificates, concatenated. */
  ByteString bundleDer() {
    return ByteString.copyFrom(root.der());
  }

  /** An intermediate CA signed by the root. */
  Issued intermediate() {
    KeyPair key = ecKeyPair();
    X500Name name = new X500Name("O=Rotor Test,CN=" + trustDomain + " intermediate " + SERIALS.get());
    X509Certificate cert = sign(subject(root), root.keyPair(), name, key.getPublic(), "spiffe://" + trustDomain, true);
    return new Issued(cert, key);
  }

  /** A leaf SVID signed by the root. */
  Issued leaf(String spiffeId) {
    return leaf(spiffeId, root);
  }

  /** A leaf SVID signed by {@code issuer}. */
  Issued leaf(String spiffeId, Issued issuer) {
    KeyPair key = ecKeyPair();
    X500Name name = new X500Name("O=Rotor Test,CN=leaf " + SERIALS.get());
    X509Certificate cert = sign(subject(issuer), issuer.keyPair(), name, key.getPublic(), spiffeId, false);
    return new Issued(cert, key);
  }

  /** A Workload API SVID message for a fresh leaf signed by the root. */
  X509SVID svid(String spiffeId, String hint) {
    return svid(spiffeId, leaf(spiffeId), hint);
  }

  /** A Workload API SVID message for {@code leaf}, with this trust domain's bundle. */
  X509SVID svid(String spiffeId, Issued leaf, String hint) {
    return X509SVID.newBuilder()
        .setSpiffeId(spiffeId)
        .setX509Svid(ByteString.copyFrom(leaf.der()))
        .setX509SvidKey(ByteString.copyFrom(leaf.keyPkcs8()))
        .setBundle(bundleDer())
        .setHint(hint)
        .build();
  }

  private static X500Name subject(Issued issued) {
    return X500Name.getInstance(issued.cert().getSubjectX500Principal().getEncoded());
  }

  static KeyPair ecKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate sign(
      X500Name issuer, KeyPair issuerKey, X500Name subject, PublicKey subjectKey, String uriSan, boolean ca) {
    Instant now = Instant.now();
    try {
      JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
          issuer,
          BigInteger.valueOf(SERIALS.incrementAndGet()),
          Date.from(now.minus(Duration.ofMinutes(1))),
          Date.from(now.plus(Duration.ofHours(1))),
          subject,
          subjectKey);
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      builder.addExtension(Extension.keyUsage, true,
          new KeyUsage(ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
      if (!ca) {
        builder.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      }
      builder.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uriSan)));
      builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(subjectKey));
      builder.addExtension(Extension.authorityKeyIdentifier, false,
          utils.createAuthorityKeyIdentifier(issuerKey.getPublic()));
      return new JcaX509CertificateConverter()
          .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey.getPrivate())));
    } catch (CertIOException | OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build test certificate for " + uriSan, e);
    }
  }
}
