package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableSortedSet;
import io.spiffe.spiffeid.SpiffeId;
import java.util.Comparator;
import java.util.Set;

/**
 * How Rotor recognizes a workload: by the {@code node.id} its Envoy sends, or by the SPIFFE ID it
 * holds (its own SVID). At least one of the two sets is non-empty. Both sets are immutable and
 * sorted (SPIFFE IDs by their string form), so iteration order is deterministic.
 *
 * @param nodeIds Envoy {@code node.id} values
 * @param spiffeIds the workload's own SPIFFE IDs (with a non-empty path)
 */
public record WorkloadMatch(Set<String> nodeIds, Set<SpiffeId> spiffeIds) {

  /** Orders SPIFFE IDs by their string form. */
  public static final Comparator<SpiffeId> SPIFFE_ID_ORDER = Comparator.comparing(SpiffeId::toString);

  public WorkloadMatch {
    nodeIds = ImmutableSortedSet.copyOf(requireNonNull(nodeIds, "nodeIds"));
    spiffeIds = ImmutableSortedSet.copyOf(SPIFFE_ID_ORDER, requireNonNull(spiffeIds, "spiffeIds"));
    if (nodeIds.isEmpty() && spiffeIds.isEmpty()) {
      throw new IllegalArgumentException("nodeIds, spiffeIds: both empty (expected: at least one node id or SPIFFE ID)");
    }
    for (String n : nodeIds) {
      PolicyValues.require(PolicyValues.nodeId(n), "nodeIds");
    }
    for (SpiffeId id : spiffeIds) {
      PolicyValues.require(PolicyValues.spiffeId(id), "spiffeIds");
    }
  }
}
