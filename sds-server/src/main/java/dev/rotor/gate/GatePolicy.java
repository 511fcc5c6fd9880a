package dev.rotor.gate;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.util.Optional;
import java.util.Set;

/**
 * What identities the {@link IdentityGate} lets through, beyond the invariants every SVID must
 * meet (valid now, key matches, conformant, chain verifies).
 *
 * @param trustDomain when present, every SVID must be in it
 * @param expectedSpiffeIds when non-empty, every SVID's SPIFFE ID must be one of these
 */
public record GatePolicy(Optional<TrustDomain> trustDomain, Set<SpiffeId> expectedSpiffeIds) {

  public GatePolicy {
    requireNonNull(trustDomain, "trustDomain");
    expectedSpiffeIds = Set.copyOf(requireNonNull(expectedSpiffeIds, "expectedSpiffeIds"));
    if (trustDomain.isPresent()) {
      TrustDomain td = trustDomain.get();
      // An expected ID outside the required trust domain could never pass: a contradiction in the
      // configuration, better reported at start-up than as refusals later.
      expectedSpiffeIds.stream()
          .filter(id -> !id.memberOf(td))
          .map(SpiffeId::toString)
          .sorted()
          .findFirst()
          .ifPresent(id -> {
            throw new IllegalArgumentException(String.format(
                "expectedSpiffeIds: %s (expected: in trust domain %s)", id, td.getName()));
          });
    }
  }

  /** Only the invariants; any trust domain, any SPIFFE ID. */
  public static GatePolicy unrestricted() {
    return new GatePolicy(Optional.empty(), Set.of());
  }

  /** Every SVID must be in {@code trustDomain}; any SPIFFE ID in it. */
  public static GatePolicy trustDomain(TrustDomain trustDomain) {
    return new GatePolicy(Optional.of(requireNonNull(trustDomain, "trustDomain")), Set.of());
  }
}
