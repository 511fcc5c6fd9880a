package dev.rotor.gate;

import static java.util.Objects.requireNonNull;

import dev.rotor.identity.IdentitySnapshot;
import java.time.Instant;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the {@link IdentityGate} serves and how it has fared, as of one moment.
 *
 * @param healthy true only when the served snapshot has at least one SVID and all are valid now
 * @param unhealthyReason why not healthy; empty when healthy
 * @param refusals refused candidate snapshots by reason, every reason present (zero if none)
 * @param sourceErrors errors the identity source reported
 * @param lastRefusal the most recent refusal, if any
 * @param current the snapshot being served, if any was ever accepted
 */
public record GateStatus(
    boolean healthy,
    Optional<String> unhealthyReason,
    Map<RefusalReason, Long> refusals,
    long sourceErrors,
    Optional<Refusal> lastRefusal,
    Optional<IdentitySnapshot> current) {

  public GateStatus {
    requireNonNull(unhealthyReason, "unhealthyReason");
    requireNonNull(lastRefusal, "lastRefusal");
    requireNonNull(current, "current");
    EnumMap<RefusalReason, Long> all = new EnumMap<>(RefusalReason.class);
    for (RefusalReason r : RefusalReason.values()) {
      all.put(r, 0L);
    }
    all.putAll(requireNonNull(refusals, "refusals"));
    refusals = Collections.unmodifiableMap(all);
    if (healthy == unhealthyReason.isPresent()) {
      throw new IllegalArgumentException(
          "unhealthyReason: " + unhealthyReason + " (expected: present exactly when not healthy)");
    }
  }

  /** How many candidates were refused for {@code reason}. */
  public long refusalCount(RefusalReason reason) {
    return refusals.get(requireNonNull(reason, "reason"));
  }

  /** How many candidates were refused, for any reason. */
  public long totalRefusals() {
    return refusals.values().stream().mapToLong(Long::longValue).sum();
  }

  /**
   * One refused candidate.
   *
   * @param reason the first invariant it broke
   * @param detail what was wrong, naming the SPIFFE ID and serial (never key material)
   * @param at when it was refused
   */
  public record Refusal(RefusalReason reason, String detail, Instant at) {
    public Refusal {
      requireNonNull(reason, "reason");
      requireNonNull(detail, "detail");
      requireNonNull(at, "at");
    }
  }
}
