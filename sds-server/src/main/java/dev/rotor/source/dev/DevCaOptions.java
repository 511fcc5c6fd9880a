package dev.rotor.source.dev;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Settings of the development CA source.
 *
 * @param trustDomain the trust domain of the CA and of every issued SVID
 * @param spiffeIds the SVIDs to issue, all in {@code trustDomain}; the first is the default
 * @param svidTtl lifetime of each SVID, between 10 s and 30 days; SVIDs are re-issued at half of it
 * @param caTtl lifetime of each CA certificate; longer than {@code svidTtl}, at most 10 years
 * @param caRotationPeriod how often a new CA replaces the old one; {@link Duration#ZERO} = never
 * @param caOverlap how long a replaced CA stays in the bundle; at most {@code caRotationPeriod},
 *     and the old CA must still be valid when the overlap ends
 * @param dnsNames DNS SANs for every SVID; the first also becomes the subject CN (may be empty)
 */
public record DevCaOptions(
    TrustDomain trustDomain,
    List<SpiffeId> spiffeIds,
    Duration svidTtl,
    Duration caTtl,
    Duration caRotationPeriod,
    Duration caOverlap,
    List<String> dnsNames) {

  static final Duration MIN_TTL = Duration.ofSeconds(10);
  static final Duration MAX_SVID_TTL = Duration.ofDays(30);
  static final Duration MAX_CA_TTL = Duration.ofDays(3650);
  /** ASCII host names, optionally with a leading wildcard label; a certificate SAN is IA5 only. */
  private static final Pattern DNS_NAME = Pattern.compile(
      "(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");

  public DevCaOptions {
    requireNonNull(trustDomain, "trustDomain");
    spiffeIds = List.copyOf(requireNonNull(spiffeIds, "spiffeIds"));
    requireNonNull(svidTtl, "svidTtl");
    requireNonNull(caTtl, "caTtl");
    requireNonNull(caRotationPeriod, "caRotationPeriod");
    requireNonNull(caOverlap, "caOverlap");
    dnsNames = List.copyOf(requireNonNull(dnsNames, "dnsNames"));

    if (spiffeIds.isEmpty()) {
      throw new IllegalArgumentException("spiffeIds: [] (expected: at least one SPIFFE ID)");
    }
    for (int i = 0; i < spiffeIds.size(); i++) {
      SpiffeId id = spiffeIds.get(i);
      if (!id.memberOf(trustDomain)) {
        throw new IllegalArgumentException(String.format(
            "spiffeIds[%d]: %s (expected: in trust domain %s)", i, id, trustDomain.getName()));
      }
    }
    if (svidTtl.compareTo(MIN_TTL) < 0 || svidTtl.compareTo(MAX_SVID_TTL) > 0) {
      throw new IllegalArgumentException(
          String.format("svidTtl: %s (expected: between 10s and 30d)", svidTtl));
    }
    if (caTtl.compareTo(svidTtl) <= 0 || caTtl.compareTo(MAX_CA_TTL) > 0) {
      throw new IllegalArgumentException(String.format(
          "caTtl: %s (expected: longer than svidTtl %s and at most 3650d)", caTtl, svidTtl));
    }
    if (!caRotationPeriod.isZero()
        && (caRotationPeriod.compareTo(MIN_TTL) < 0 || caRotationPeriod.compareTo(caTtl) >= 0)) {
      throw new IllegalArgumentException(String.format(
          "caRotationPeriod: %s (expected: PT0S for never, or at least 10s and shorter than caTtl %s)",
          caRotationPeriod, caTtl));
    }
    if (caOverlap.isNegative()) {
      throw new IllegalArgumentException(String.format("caOverlap: %s (expected: >= 0)", caOverlap));
    }
    if (!caRotationPeriod.isZero() && caOverlap.compareTo(caRotationPeriod) > 0) {
      // More than two CAs in the bundle at once would only hide a misconfiguration.
      throw new IllegalArgumentException(String.format(
          "caOverlap: %s (expected: at most caRotationPeriod %s)", caOverlap, caRotationPeriod));
    }
    if (!caRotationPeriod.isZero() && caRotationPeriod.plus(caOverlap).compareTo(caTtl) > 0) {
      // A retired CA that expires while still in the bundle would break the overlap it exists for.
      throw new IllegalArgumentException(String.format(
          "caOverlap: %s (expected: caRotationPeriod %s + caOverlap at most caTtl %s)",
          caOverlap, caRotationPeriod, caTtl));
    }
    for (int i = 0; i < dnsNames.size(); i++) {
      String name = dnsNames.get(i);
      if (!DNS_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException(String.format(
            "dnsNames[%d]: \"%s\" (expected: a DNS name such as db.example.org)", i, name));
      }
    }
  }

  /** Options with no DNS names, for the common case. */
  public static DevCaOptions of(
      TrustDomain trustDomain,
      List<SpiffeId> spiffeIds,
      Duration svidTtl,
      Duration caTtl,
      Duration caRotationPeriod,
      Duration caOverlap) {
    return new DevCaOptions(trustDomain, spiffeIds, svidTtl, caTtl, caRotationPeriod, caOverlap, List.of());
  }
}
