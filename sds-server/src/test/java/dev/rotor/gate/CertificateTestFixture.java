package dev.rotor.gate;

import static java.util.Objects.requireNonNull;

import dev.rotor.identity.Svid;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test fixture: builds certificates the dev CA never would (expired, not yet valid, CA leaves,
 * several or wrong URI SANs, RSA keys, chains through an intermediate) so the gate's negative and
 * less common positive cases can be fed exact defects.
 */
final class CertificateTestFixture {

  private static final AtomicLong SERIALS = new AtomicLong(1);
  private static final AtomicInteger NEXT_RSA = new AtomicInteger();
  /** RSA key generation is slow; a few keys, handed out in turn, are enough for tests. */
  private static final List<KeyPair> RSA_KEYS = generateRsaKeys(4);

  private CertificateTestFixture() {}

  /** A CA (root or intermediate) that signs fixture certificates. */
  record TestCa(TrustDomain trustDomain, KeyPair keyPair, X509Certificate certificate) {
    @Override
    public String toString() {
      return "TestCa{" + trustDomain.getName() + ", " + certificate.getSubjectX500Principal() + "}";
    }

    /** An intermediate CA under this one. */
    TestCa intermediate(Instant now) {
      KeyPair kp = ecKeyPair();
      X509Certificate cert = build(new X500Name("O=Fixture intermediate,SERIALNUMBER=" + SERIALS.get()),
          kp, certificate, keyPair, now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(3650)), true,
          KeyUsage.keyCertSign | KeyUsage.cRLSign, List.of(trustDomain.toIdString()));
      return new TestCa(trustDomain, kp, cert);
    }
  }

  /** A self-signed root for {@code trustDomain}, valid for ten years around {@code now}. */
  static TestCa root(TrustDomain trustDomain, Instant now) {
    KeyPair kp = ecKeyPair();
    X500Name name = new X500Name("O=Fixture root,SERIALNUMBER=" + SERIALS.get());
    X509Certificate cert = build(name, kp, null, kp, now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(3650)),
        true, KeyUsage.keyCertSign | KeyUsage.cRLSign, List.of(trustDomain.toIdString()));
    return new TestCa(trustDomain, kp, cert);
  }

  /** Starts a leaf for {@code spiffeId} signed by {@code issuer}; by default a conformant X509-SVID. */
  static LeafBuilder leaf(TestCa issuer, SpiffeId spiffeId, Instant now) {
    return new LeafBuilder(issuer, spiffeId, now);
  }

  static final class LeafBuilder {
    private final TestCa issuer;
    private final SpiffeId spiffeId;
    private List<String> uriSans;
    private Instant notBefore;
    private Instant notAfter;
    private boolean ca;
    private int keyUsage = KeyUsage.digitalSignature;
    private boolean rsa;
    private final List<X509Certificate> intermediates = new ArrayList<>();

    private LeafBuilder(TestCa issuer, SpiffeId spiffeId, Instant now) {
      this.issuer = requireNonNull(issuer, "issuer");
      this.spiffeId = requireNonNull(spiffeId, "spiffeId");
      this.uriSans = List.of(spiffeId.toString());
      this.notBefore = now.minusSeconds(30);
      this.notAfter = now.plus(Duration.ofHours(1));
    }

    LeafBuilder uriSans(String... uris) {
      this.uriSans = List.of(uris);
      return this;
    }

    LeafBuilder validity(Instant notBefore, Instant notAfter) {
      this.notBefore = notBefore;
      this.notAfter = notAfter;
      return this;
    }

    LeafBuilder ca(boolean ca) {
      this.ca = ca;
      return this;
    }

    LeafBuilder keyUsage(int keyUsage) {
      this.keyUsage = keyUsage;
      return this;
    }

    LeafBuilder rsa() {
      this.rsa = true;
      return this;
    }

    /** Appends certificates after the leaf in the chain (the issuer's own chain, for an intermediate). */
    LeafBuilder intermediates(X509Certificate... certs) {
      intermediates.addAll(List.of(certs));
      return this;
    }

    Svid build() {
      KeyPair kp = rsa ? RSA_KEYS.get(Math.floorMod(NEXT_RSA.getAndIncrement(), RSA_KEYS.size())) : ecKeyPair();
      X509Certificate leaf = CertificateTestFixture.build(new X500Name("O=Fixture leaf"), kp, issuer.certificate(),
          issuer.keyPair(), notBefore, notAfter, ca, keyUsage, uriSans);
      List<X509Certificate> chain = new ArrayList<>();
      chain.add(leaf);
      chain.addAll(intermediates);
      return new Svid(spiffeId, chain, kp.getPrivate(), "");
    }
  }

  private static X509Certificate build(X500Name subject, KeyPair subjectKeys, X509Certificate issuerCert,
      KeyPair issuerKeys, Instant notBefore, Instant notAfter, boolean ca, int keyUsage, List<String> uris) {
    try {
      X500Name issuer = issuerCert == null
          ? subject
          : X500Name.getInstance(issuerCert.getSubjectX500Principal().getEncoded());
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer,
          BigInteger.valueOf(SERIALS.getAndIncrement()), Date.from(notBefore), Date.from(notAfter), subject,
          subjectKeys.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
      if (!uris.isEmpty()) {
        GeneralName[] names = uris.stream()
            .map(u -> new GeneralName(GeneralName.uniformResourceIdentifier, u))
            .toArray(GeneralName[]::new);
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
      }
      String algorithm = issuerKeys.getPrivate().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder(algorithm).build(issuerKeys.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException("fixture certificate could not be built", e);
    }
  }

  static KeyPair ecKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<KeyPair> generateRsaKeys(int n) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048);
      List<KeyPair> keys = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        keys.add(g.generateKeyPair());
      }
      return List.copyOf(keys);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
