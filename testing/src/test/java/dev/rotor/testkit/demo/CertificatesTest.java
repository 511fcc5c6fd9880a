package dev.rotor.testkit.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.HexFormat;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

class CertificatesTest {
  @Test
  void authorityKeyId_isTheKeyIdentifierOfTheExtension_inHex() throws Exception {
    byte[] keyId = HexFormat.of().parseHex("0a1b2c3d4e5f60718293a4b5c6d7e8f901234567");

    X509Certificate cert = certificate(new AuthorityKeyIdentifier(keyId));

    assertThat(Certificates.authorityKeyId(cert)).contains("0a1b2c3d4e5f60718293a4b5c6d7e8f901234567");
  }

  @Test
  void authorityKeyId_ofACertificateWithoutTheExtension_isEmpty() throws Exception {
    assertThat(Certificates.authorityKeyId(certificate(null))).isEmpty();
  }

  private static X509Certificate certificate(AuthorityKeyIdentifier aki) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(256);
    KeyPair key = generator.generateKeyPair();
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(new X500Name("O=test"), BigInteger.TEN,
        Date.from(now.minus(1, ChronoUnit.MINUTES)), Date.from(now.plus(1, ChronoUnit.HOURS)), new X500Name("O=test"),
        key.getPublic());
    if (aki != null) {
      builder.addExtension(Extension.authorityKeyIdentifier, false, aki);
    }
    return new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
  }
}
