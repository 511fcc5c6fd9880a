package dev.rotor.gate;

/**
 * Why the {@link IdentityGate} refused a candidate snapshot.
 *
 * <p>Declared in the order the gate checks each SVID; when an SVID breaks several invariants the
 * first one in this order is reported. Conformance comes first so that the later checks, which read
 * the SVID's SPIFFE ID, are about the identity the certificate really carries.
 */
public enum RefusalReason {
  /** The snapshot carries no SVID at all. */
  NO_SVID,
  /**
   * The leaf is not an X509-SVID: it is a CA certificate or may sign certificates or CRLs, it has
   * no URI SAN or several, or its URI SAN differs from the SVID's SPIFFE ID.
   */
  NOT_SPIFFE_CONFORMANT,
  /** The leaf's not-after has been reached. */
  EXPIRED,
  /** The leaf's not-before is still in the future. */
  NOT_YET_VALID,
  /** The private key does not belong to the leaf's public key. */
  KEY_MISMATCH,
  /** The SVID is outside the trust domain the policy requires. */
  WRONG_TRUST_DOMAIN,
  /** The policy lists the SPIFFE IDs it expects and this one is not among them. */
  UNEXPECTED_SPIFFE_ID,
  /** The snapshot has no bundle for the SVID's trust domain. */
  NO_BUNDLE,
  /**
   * The chain does not verify with PKIX against the bundle of the SVID's trust domain at the
   * current time (no revocation checking).
   */
  CHAIN_INVALID
}
