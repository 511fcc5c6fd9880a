package dev.rotor.config;

import static java.util.Objects.requireNonNull;

import dev.rotor.policy.Policy;
import dev.rotor.policy.Workload;
import dev.rotor.xds.envoy.WorkloadResources;
import dev.rotor.xds.envoy.WorkloadResourcesBuilder;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.spiffe.spiffeid.SpiffeId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The listeners and clusters of every workload in one policy version, built once when the policy
 * is loaded (so a bad translation rejects the policy before anything is served) and shared by all
 * streams.
 */
public final class PolicyResources {

  private final Policy policy;
  private final Map<String, WorkloadResources> byWorkload;

  private PolicyResources(Policy policy, Map<String, WorkloadResources> byWorkload) {
    this.policy = policy;
    this.byWorkload = byWorkload;
  }

  /**
   * Translates every workload.
   *
   * @throws IllegalArgumentException (an {@code UntranslatablePolicyException}) when a rule cannot
   *     be expressed in Envoy: never served as a wider permission
   */
  public static PolicyResources build(Policy policy, WorkloadResourcesBuilder.Options options) {
    requireNonNull(policy, "policy");
    Map<String, WorkloadResources> m = new LinkedHashMap<>();
    for (Workload w : policy.workloads()) {
      m.put(w.name(), WorkloadResourcesBuilder.build(policy, w, options));
    }
    return new PolicyResources(policy, Map.copyOf(m));
  }

  public Policy policy() {
    return policy;
  }

  /**
   * The workload an Envoy belongs to: by its node id, or else — for a pod-local Rotor — by the
   * SPIFFE ID Rotor itself holds, which is the pod's identity.
   */
  public Optional<Workload> workloadFor(Node node, Optional<SpiffeId> ownId) {
    Optional<Workload> byNode = node.getId().isEmpty() ? Optional.empty() : policy.workloadForNode(node.getId());
    if (byNode.isPresent()) {
      return byNode;
    }
    return ownId.flatMap(policy::workloadForSpiffeId);
  }

  public Optional<WorkloadResources> resourcesFor(Node node, Optional<SpiffeId> ownId) {
    return workloadFor(node, ownId).map(w -> byWorkload.get(w.name()));
  }

  /** The resources of the workload whose {@code match.spiffeIds} has {@code id}: a TCP caller's own. */
  public Optional<WorkloadResources> resourcesForSpiffeId(SpiffeId id) {
    return policy.workloadForSpiffeId(id).map(w -> byWorkload.get(w.name()));
  }

  /**
   * The resources of the workload of the first of {@code ids} (in order) that a workload's {@code
   * match.spiffeIds} names: a node-mode caller's own, SPIRE's order deciding when it holds several.
   */
  public Optional<WorkloadResources> resourcesForSpiffeIds(List<SpiffeId> ids) {
    return workloadForSpiffeIds(policy, ids).map(w -> byWorkload.get(w.name()));
  }

  /** The workload of the first of {@code ids} that {@code policy} matches. */
  static Optional<Workload> workloadForSpiffeIds(Policy policy, List<SpiffeId> ids) {
    for (SpiffeId id : ids) {
      Optional<Workload> w = policy.workloadForSpiffeId(id);
      if (w.isPresent()) {
        return w;
      }
    }
    return Optional.empty();
  }

  public Optional<WorkloadResources> resources(String workloadName) {
    return Optional.ofNullable(byWorkload.get(workloadName));
  }
}
