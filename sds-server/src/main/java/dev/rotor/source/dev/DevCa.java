package dev.rotor.source.dev;

import static java.util.Objects.requireNonNull;

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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * An in-memory certificate authority for development: issues X509-SVIDs that follow the SPIFFE
 * X509-SVID specification, so the whole pipeline runs with no SPIRE agent.
 *
 * <p>Keys are EC P-256 and live only in memory. {@link #rotateCa()} replaces the signing CA; the
 * retired CA stays in {@link #bundle()} for the configured overlap so peers holding SVIDs of the
 * old CA keep verifying until they are re-issued.
 *
 * <p>Thread-safe: the CA state is an immutable value swapped whole by {@link #rotateCa()} (guarded
 * by {@code this}); {@link #issue} reads it once.
 *
 * <p>Uses only BouncyCastle's builders with the JDK's own providers; no provider is registered
 * globally.
 */
public final class DevCa {

  /**
   * Certificates start this long before "now" so a peer whose clock is slightly behind ours does
   * not reject a freshly issued certificate as not yet valid.
   */
  static final Duration BACKDATE = Duration.ofSeconds(30);

  private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

  private final TrustDomain trustDomain;
  private final Duration caTtl;
  private final Duration caOverlap;
  private final Clock clock;
  private final SecureRandom random;

  /** The signing CA and the retired ones still in the bundle. Swapped whole, under {@code this}. */
  private volatile State state;

  /** One CA generation: its key pair and self-signed certificate. {@code toString} omits the key. */
  private record Authority(KeyPair keyPair, X509Certificate certificate) {
    Instant notAfter() {
      return certificate.getNotAfter().toInstant();
    }

    @Override
    public String toString() {
      return "Authority{serial=" + certificate.getSerialNumber().toString(16) + ", notAfter=" + notAfter() + "}";
    }
  }

  /** A retired CA and the instant it leaves the bundle. */
  private record Retired(X509Certificate certificate, Instant leavesBundleAt) {}

  private record State(Authority current, List<Retired> retired) {
    State {
      retired = List.copyOf(retired);
    }
  }

  /**
   * Creates a CA for {@code trustDomain} whose certificates live {@code caTtl}; after {@link
   * #rotateCa()} the retired CA stays in the bundle for {@code caOverlap}.
   */
  public DevCa(TrustDomain trustDomain, Duration caTtl, Duration caOverlap, Clock clock) {
    this(trustDomain, caTtl, caOverlap, clock, new SecureRandom());
  }

  DevCa(TrustDomain trustDomain, Duration caTtl, Duration caOverlap, Clock clock, SecureRandom random) {
    this.trustDomain = requireNonNull(trustDomain, "trustDomain");
    this.caTtl = requireNonNull(caTtl, "caTtl");
    this.caOverlap = requireNonNull(caOverlap, "caOverlap");
    this.clock = requireNonNull(clock, "clock");
    this.random = requireNonNull(random, "random");
    if (caTtl.isNegative() || caTtl.isZero()) {
      throw new IllegalArgumentException("caTtl: " + caTtl + " (expected: > 0)");
    }
    if (caOverlap.isNegative()) {
      throw new IllegalArgumentException("caOverlap: " + caOverlap + " (expected: >= 0)");
    }
    this.state = new State(newAuthority(), List.of());
  }

  public TrustDomain trustDomain() {
    return trustDomain;
  }

  /** The certificate of the CA that signs new SVIDs. */
  public X509Certificate caCertificate() {
    return state.current().certificate();
  }

  /**
   * The trust bundle as of now: the signing CA, plus retired CAs whose overlap has not ended yet.
   */
  public TrustBundle bundle() {
    State s = state;
    Instant now = clock.instant();
    List<X509Certificate> authorities = new ArrayList<>();
    authorities.add(s.current().certificate());
    for (Retired r : s.retired()) {
      if (now.isBefore(r.leavesBundleAt())) {
        authorities.add(r.certificate());
      }
    }
    return TrustBundle.of(trustDomain, authorities);
  }

  /**
   * Replaces the signing CA with a fresh one. The previous CA stays in {@link #bundle()} until
   * now + overlap; SVIDs issued from now on are signed by the new CA.
   */
  public void rotateCa() {
    Authority next = newAuthority(); // key generation outside the lock
    Instant now = clock.instant();
    synchronized (this) {
      State s = state;
      List<Retired> retired = new ArrayList<>();
      for (Retired r : s.retired()) {
        if (now.isBefore(r.leavesBundleAt())) {
          retired.add(r);
        }
      }
      if (caOverlap.compareTo(Duration.ZERO) > 0) {
        retired.add(new Retired(s.current().certificate(), now.plus(caOverlap)));
      }
      state = new State(next, retired);
    }
  }

  /** The next instant a retired CA leaves {@link #bundle()}, if one is still in it. */
  public Optional<Instant> overlapEndsAt() {
    Instant now = clock.instant();
    return state.retired().stream()
        .map(Retired::leavesBundleAt)
        .filter(now::isBefore)
        .min(Comparator.naturalOrder());
  }

  /** When the signing CA expires; no SVID outlives it. */
  public Instant caNotAfter() {
    return state.current().notAfter();
  }

  /** Issues an SVID for {@code spiffeId} valid for {@code ttl} (capped at the CA's expiry). */
  public Svid issue(SpiffeId spiffeId, Duration ttl) {
    return issue(spiffeId, ttl, List.of());
  }

  /**
   * Issues an X509-SVID for {@code spiffeId}: a fresh EC P-256 key, exactly one URI SAN (the
   * SPIFFE ID), plus {@code dnsNames} as DNS SANs with the first one also as the subject CN
   * (PostgreSQL maps client certificates by CN). Valid from 30 s ago until now + {@code ttl}, but
   * never after the signing CA expires.
   *
   * @throws IllegalArgumentException if the ID is outside this CA's trust domain or ttl is not > 0
   * @throws IllegalStateException if the signing CA has expired
   */
  public Svid issue(SpiffeId spiffeId, Duration ttl, List<String> dnsNames) {
    requireNonNull(spiffeId, "spiffeId");
    requireNonNull(ttl, "ttl");
    List<String> dns = List.copyOf(requireNonNull(dnsNames, "dnsNames"));
    if (!spiffeId.memberOf(trustDomain)) {
      throw new IllegalArgumentException(
          "spiffeId: " + spiffeId + " (expected: in trust domain " + trustDomain.getName() + ")");
    }
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0)");
    }
    Authority ca = state.current();
    Instant now = clock.instant();
    if (!now.isBefore(ca.notAfter())) {
      throw new IllegalStateException("dev CA of " + trustDomain.getName() + " expired at " + ca.notAfter());
    }
    Instant notAfter = now.plus(ttl);
    if (notAfter.isAfter(ca.notAfter())) {
      notAfter = ca.notAfter();
    }
    KeyPair keyPair = newKeyPair();
    X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Rotor development");
    if (!dns.isEmpty()) {
      subject.addRDN(BCStyle.CN, dns.get(0));
    }
    GeneralName[] sans = new GeneralName[1 + dns.size()];
    sans[0] = new GeneralName(GeneralName.uniformResourceIdentifier, spiffeId.toString());
    for (int i = 0; i < dns.size(); i++) {
      sans[i + 1] = new GeneralName(GeneralName.dNSName, dns.get(i));
    }
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
              ca.certificate(), serial(), Date.from(now.minus(BACKDATE)), Date.from(notAfter),
              subject.build(), keyPair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
          .addExtension(Extension.extendedKeyUsage, false,
              new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
          .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keyPair.getPublic()))
          .addExtension(Extension.authorityKeyIdentifier, false,
              ext.createAuthorityKeyIdentifier(ca.keyPair().getPublic()));
      X509Certificate leaf = sign(b, ca.keyPair());
      return new Svid(spiffeId, List.of(leaf), keyPair.getPrivate(), "");
    } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
      throw new IllegalStateException("dev CA could not issue an SVID for " + spiffeId, e);
    }
  }

  private Authority newAuthority() {
    KeyPair keyPair = newKeyPair();
    Instant now = clock.instant();
    BigInteger serial = serial();
    // The serial in the subject tells CA generations apart in logs and during an overlap.
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, "Rotor development CA")
        .addRDN(BCStyle.SERIALNUMBER, serial.toString(16))
        .build();
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
              subject, serial, Date.from(now.minus(BACKDATE)), Date.from(now.plus(caTtl)),
              subject, keyPair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectAlternativeName, false,
              new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, trustDomain.toIdString())))
          .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keyPair.getPublic()));
      return new Authority(keyPair, sign(b, keyPair));
    } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
      throw new IllegalStateException("dev CA could not create its CA certificate for " + trustDomain.getName(), e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer)
      throws OperatorCreationException, java.security.cert.CertificateException {
    X509CertificateHolder holder = builder.build(new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(signer.getPrivate()));
    return new JcaX509CertificateConverter().getCertificate(holder);
  }

  /** A random positive 128-bit serial (RFC 5280 allows up to 20 octets; zero is not allowed). */
  private BigInteger serial() {
    BigInteger serial;
    do {
      serial = new BigInteger(128, random);
    } while (serial.signum() == 0);
    return serial;
  }

  private KeyPair newKeyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), random);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC P-256 key generation is not available", e);
    }
  }

  @Override
  public String toString() {
    return "DevCa{" + trustDomain.getName() + ", ca=" + state.current() + "}";
  }
}
