package dev.rotor.gate;

import static java.util.Objects.requireNonNull;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import io.spiffe.spiffeid.TrustDomain;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The invariants every SVID of a candidate snapshot must meet, as pure functions of the snapshot,
 * the policy and the time. Checked in the order of {@link RefusalReason}; the first failure wins.
 */
final class SnapshotChecks {

  /** The SAN type of a uniformResourceIdentifier in {@link X509Certificate#getSubjectAlternativeNames}. */
  private static final int SAN_URI = 6;
  private static final int KEY_USAGE_KEY_CERT_SIGN = 5;
  private static final int KEY_USAGE_CRL_SIGN = 6;

  /** A failed invariant. {@code detail} names the SVID by SPIFFE ID and serial, never by key. */
  record Failure(RefusalReason reason, String detail) {
    Failure {
      requireNonNull(reason, "reason");
      requireNonNull(detail, "detail");
    }
  }

  private final GatePolicy policy;
  private final SecureRandom random;

  SnapshotChecks(GatePolicy policy, SecureRandom random) {
    this.policy = requireNonNull(policy, "policy");
    this.random = requireNonNull(random, "random");
  }

  /** The first invariant {@code candidate} breaks at {@code now}, or empty if it may be served. */
  Optional<Failure> check(IdentitySnapshot candidate, Instant now) {
    if (candidate.svids().isEmpty()) {
      return Optional.of(new Failure(RefusalReason.NO_SVID, "snapshot " + candidate.version() + " has no SVID"));
    }
    for (Svid svid : candidate.svids()) {
      Optional<Failure> f = check(svid, candidate, now);
      if (f.isPresent()) {
        return f;
      }
    }
    return Optional.empty();
  }

  private Optional<Failure> check(Svid svid, IdentitySnapshot candidate, Instant now) {
    String who = svid.spiffeId() + " (serial " + svid.serialHex() + ")";
    X509Certificate leaf = svid.leaf();

    Optional<String> nonConformance = nonConformance(svid);
    if (nonConformance.isPresent()) {
      return fail(RefusalReason.NOT_SPIFFE_CONFORMANT, who + ": " + nonConformance.get());
    }
    // A certificate is valid through its not-after second (RFC 5280); the gate stops serving it at
    // that instant so the scheduled expiry check and this check agree on one boundary.
    if (!now.isBefore(svid.notAfter())) {
      return fail(RefusalReason.EXPIRED, who + ": expired at " + svid.notAfter() + " (now " + now + ")");
    }
    if (now.isBefore(svid.notBefore())) {
      return fail(RefusalReason.NOT_YET_VALID, who + ": not valid before " + svid.notBefore() + " (now " + now + ")");
    }
    if (!keyMatches(svid.privateKey(), leaf.getPublicKey())) {
      return fail(RefusalReason.KEY_MISMATCH, who + ": private key (" + svid.privateKey().getAlgorithm()
          + ") does not match the leaf's public key (" + leaf.getPublicKey().getAlgorithm() + ")");
    }
    TrustDomain td = svid.spiffeId().getTrustDomain();
    if (policy.trustDomain().isPresent() && !policy.trustDomain().get().equals(td)) {
      return fail(RefusalReason.WRONG_TRUST_DOMAIN,
          who + ": trust domain " + td.getName() + " (expected: " + policy.trustDomain().get().getName() + ")");
    }
    if (!policy.expectedSpiffeIds().isEmpty() && !policy.expectedSpiffeIds().contains(svid.spiffeId())) {
      return fail(RefusalReason.UNEXPECTED_SPIFFE_ID, who + ": not among the " + policy.expectedSpiffeIds().size()
          + " expected SPIFFE IDs");
    }
    Optional<TrustBundle> bundle = candidate.bundle(td);
    if (bundle.isEmpty()) {
      return fail(RefusalReason.NO_BUNDLE, who + ": no bundle for trust domain " + td.getName());
    }
    Optional<String> chainProblem = chainProblem(svid, bundle.get(), now);
    if (chainProblem.isPresent()) {
      return fail(RefusalReason.CHAIN_INVALID,
          who + ": chain does not verify against the bundle of " + td.getName() + ": " + chainProblem.get());
    }
    return Optional.empty();
  }

  /** Why the leaf is not an X509-SVID for the SVID's SPIFFE ID, if it is not. */
  private static Optional<String> nonConformance(Svid svid) {
    X509Certificate leaf = svid.leaf();
    if (leaf.getBasicConstraints() >= 0) {
      return Optional.of("leaf is a CA certificate (basicConstraints CA=true)");
    }
    boolean[] keyUsage = leaf.getKeyUsage();
    if (keyUsage != null && (bit(keyUsage, KEY_USAGE_KEY_CERT_SIGN) || bit(keyUsage, KEY_USAGE_CRL_SIGN))) {
      return Optional.of("leaf may sign certificates or CRLs (keyUsage keyCertSign/cRLSign)");
    }
    List<String> uris = new ArrayList<>();
    try {
      var sans = leaf.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (san.size() == 2 && Integer.valueOf(SAN_URI).equals(san.get(0))) {
            uris.add(String.valueOf(san.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      return Optional.of("subjectAltName cannot be parsed: " + e.getMessage());
    }
    if (uris.size() != 1) {
      return Optional.of("leaf has " + uris.size() + " URI SANs (expected: exactly 1)");
    }
    if (!uris.get(0).equals(svid.spiffeId().toString())) {
      return Optional.of("leaf URI SAN " + uris.get(0) + " differs from the SVID's SPIFFE ID");
    }
    return Optional.empty();
  }

  private static boolean bit(boolean[] bits, int i) {
    return i < bits.length && bits[i];
  }

  /**
   * Proves possession: signs a fresh random challenge with the private key and verifies it with the
   * leaf's public key. Comparing key encodings would need per-algorithm code and miss a key that is
   * well-formed but unusable.
   */
  private boolean keyMatches(PrivateKey privateKey, PublicKey publicKey) {
    Optional<String> algorithm = signatureAlgorithm(privateKey.getAlgorithm());
    if (algorithm.isEmpty()) {
      return false; // fail closed on a key type we cannot test
    }
    byte[] challenge = new byte[32];
    random.nextBytes(challenge);
    try {
      Signature signer = Signature.getInstance(algorithm.get());
      signer.initSign(privateKey, random);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm.get());
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static Optional<String> signatureAlgorithm(String keyAlgorithm) {
    switch (keyAlgorithm) {
      case "EC":
      case "ECDSA":
        return Optional.of("SHA256withECDSA");
      case "RSA":
        return Optional.of("SHA256withRSA");
      case "EdDSA":
      case "Ed25519":
      case "Ed448":
        return Optional.of("EdDSA");
      default:
        return Optional.empty();
    }
  }

  /** Why PKIX validation of the chain against {@code bundle} at {@code now} fails, if it does. */
  private static Optional<String> chainProblem(Svid svid, TrustBundle bundle, Instant now) {
    if (bundle.authorities().isEmpty()) {
      return Optional.of("the bundle has no authorities");
    }
    Set<TrustAnchor> anchors = new HashSet<>();
    for (X509Certificate authority : bundle.authorities()) {
      anchors.add(new TrustAnchor(authority, null));
    }
    // PKIX wants the path without its trust anchor; some sources append the root to the chain.
    List<X509Certificate> path = new ArrayList<>(svid.chain());
    while (path.size() > 1 && bundle.authorities().contains(path.get(path.size() - 1))) {
      path.remove(path.size() - 1);
    }
    try {
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false);
      params.setDate(Date.from(now));
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
      return Optional.empty();
    } catch (GeneralSecurityException e) {
      return Optional.of(String.valueOf(e.getMessage()));
    }
  }

  private static Optional<Failure> fail(RefusalReason reason, String detail) {
    return Optional.of(new Failure(reason, detail));
  }
}
