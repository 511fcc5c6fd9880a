package dev.rotor.identity;

import static java.util.Objects.requireNonNull;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import io.spiffe.spiffeid.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Everything a workload is entitled to at one moment: its X.509-SVIDs (the first is the default
 * identity, as the Workload API orders them) and the trust bundles by trust domain (its own and
 * federated ones). Immutable; both identity sources produce it and everything downstream reads it.
 *
 * <p>{@link #version()} is derived from content only (certificate and bundle bytes), so the same
 * identities always have the same version and a change of any certificate changes it.
 */
public record IdentitySnapshot(List<Svid> svids, Map<TrustDomain, TrustBundle> bundles, String version) {

  public IdentitySnapshot {
    svids = List.copyOf(requireNonNull(svids, "svids"));
    TreeMap<TrustDomain, TrustBundle> sorted = new TreeMap<>(Comparator.comparing(TrustDomain::getName));
    sorted.putAll(requireNonNull(bundles, "bundles"));
    sorted.forEach((td, b) -> {
      if (!b.trustDomain().equals(td)) {
        throw new IllegalArgumentException("bundles: key " + td + " holds the bundle of " + b.trustDomain());
      }
    });
    bundles = java.util.Collections.unmodifiableMap(sorted);
    requireNonNull(version, "version");
  }

  /** Builds a snapshot and derives its version from the content. */
  public static IdentitySnapshot of(List<Svid> svids, Map<TrustDomain, TrustBundle> bundles) {
    return new IdentitySnapshot(svids, bundles, contentVersion(svids, bundles));
  }

  /** The default SVID: the first one, as SPIRE's agent orders them. */
  public Optional<Svid> defaultSvid() {
    return svids.isEmpty() ? Optional.empty() : Optional.of(svids.get(0));
  }

  /** The trust domain of the default SVID; the "own" trust domain. */
  public Optional<TrustDomain> ownTrustDomain() {
    return defaultSvid().map(s -> s.spiffeId().getTrustDomain());
  }

  public Optional<TrustBundle> bundle(TrustDomain trustDomain) {
    return Optional.ofNullable(bundles.get(trustDomain));
  }

  /** The earliest not-after of any SVID: when this snapshot stops being fully servable. */
  public Optional<Instant> earliestSvidExpiry() {
    return svids.stream().map(Svid::notAfter).min(Comparator.naturalOrder());
  }

  /** The same snapshot without the given SVIDs, re-versioned (used when some expire). */
  public IdentitySnapshot withSvids(List<Svid> remaining) {
    return of(remaining, bundles);
  }

  private static String contentVersion(List<Svid> svids, Map<TrustDomain, TrustBundle> bundles) {
    Hasher h = Hashing.sha256().newHasher();
    for (Svid s : svids) {
      h.putString("svid", StandardCharsets.UTF_8).putString(s.spiffeId().toString(), StandardCharsets.UTF_8);
      for (X509Certificate c : s.chain()) {
        h.putBytes(TrustBundle.der(c));
      }
    }
    new TreeMap<>(bundles.entrySet().stream()
            .collect(java.util.stream.Collectors.toMap(e -> e.getKey().getName(), Map.Entry::getValue)))
        .forEach((td, b) -> {
          h.putString("bundle", StandardCharsets.UTF_8).putString(td, StandardCharsets.UTF_8);
          b.authorities().forEach(c -> h.putBytes(TrustBundle.der(c)));
        });
    return h.hash().toString().substring(0, 16);
  }

  @Override
  public String toString() {
    return "IdentitySnapshot{version=" + version + ", svids=" + svids + ", bundles=" + bundles.keySet() + "}";
  }
}
