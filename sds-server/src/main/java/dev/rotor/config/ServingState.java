package dev.rotor.config;

import static java.util.Objects.requireNonNull;

import dev.rotor.policy.Policy;
import dev.rotor.policy.Workload;
import dev.rotor.protocol.Caller;
import dev.rotor.protocol.TypeView;
import dev.rotor.protocol.XdsState;
import dev.rotor.sds.SecretState;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.envoy.WorkloadResources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Status;
import io.spiffe.spiffeid.SpiffeId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Everything Rotor serves at one moment: secrets from the identity the gate passed, and
 * listeners and clusters from the policy, per Envoy node.
 */
public record ServingState(long generation, long changedAtNanos, SecretState secrets,
    Optional<PolicyResources> policy, Optional<SpiffeId> ownId) implements XdsState {

  /** Types served on ADS. RDS and EDS are accepted (routes are inline, endpoints static) and stay empty. */
  public static final Set<String> ADS_TYPES =
      Set.of(TypeUrls.SECRET, TypeUrls.CLUSTER, TypeUrls.LISTENER, TypeUrls.ROUTE, TypeUrls.ENDPOINT);

  public ServingState {
    requireNonNull(secrets, "secrets");
    requireNonNull(policy, "policy");
    requireNonNull(ownId, "ownId");
  }

  @Override
  public Set<String> typeUrls() {
    return ADS_TYPES;
  }

  @Override
  public TypeView view(String typeUrl, Node node, Caller caller) {
    switch (typeUrl) {
      case TypeUrls.SECRET:
        return secrets.view(typeUrl, node, caller);
      case TypeUrls.LISTENER:
        return fullState(resources(node, caller).map(WorkloadResources::listenerResources).orElse(List.of()));
      case TypeUrls.CLUSTER:
        return fullState(resources(node, caller).map(WorkloadResources::clusterResources).orElse(List.of()));
      default:
        return TypeView.empty(false);
    }
  }

  /**
   * A TCP caller's {@code node.id} must not name a workload other than the one its SPIFFE ID
   * belongs to: it would be served nothing of that workload anyway (see {@link #resources}), but a
   * client claiming to be another workload is misconfigured or probing, and says so loudly. A node
   * id the policy does not name is not a claim: Envoys often carry per-pod ids.
   */
  @Override
  public Optional<Status> nodeRefusal(Node node, Caller caller) {
    if (caller instanceof Caller.PodLocal || policy.isEmpty() || node.getId().isEmpty()) {
      return Optional.empty();
    }
    List<SpiffeId> ids = verifiedIds(caller);
    Policy p = policy.get().policy();
    Optional<String> claimed = p.workloadForNode(node.getId()).map(Workload::name);
    if (claimed.isEmpty() || claimed.equals(PolicyResources.workloadForSpiffeIds(p, ids).map(Workload::name))) {
      return Optional.empty();
    }
    String how = caller instanceof Caller.Attested
        ? "in node mode the workload is the one whose match.spiffeIds has the identity SPIRE attested for the caller"
        : "over TCP the workload is the one whose match.spiffeIds has the caller's SPIFFE ID";
    return Optional.of(Status.PERMISSION_DENIED.withDescription("node.id \"" + clip(node.getId())
        + "\" names a workload that " + ids.get(0) + " does not belong to (" + how
        + "; send that workload's node id, or none)"));
  }

  /** The identities a TCP or attested caller proved; fails closed (ClassCastException) should Caller gain a kind. */
  private static List<SpiffeId> verifiedIds(Caller caller) {
    if (caller instanceof Caller.Attested attested) {
      return attested.spiffeIds();
    }
    return List.of(((Caller.Remote) caller).spiffeId());
  }

  /**
   * The workload a stream is served. Pod-local: by node id, else by Rotor's own SPIFFE ID (the
   * pod's identity). Over TCP: by the caller's verified SPIFFE ID only; in node mode by the
   * identities SPIRE attested for the caller only: what the client says in {@code node} can be forged.
   */
  private Optional<WorkloadResources> resources(Node node, Caller caller) {
    if (caller instanceof Caller.PodLocal) {
      return policy.flatMap(p -> p.resourcesFor(node, ownId));
    }
    List<SpiffeId> ids = verifiedIds(caller);
    return policy.flatMap(p -> p.resourcesForSpiffeIds(ids));
  }

  private static String clip(String clientValue) {
    return clientValue.length() <= 200 ? clientValue : clientValue.substring(0, 200) + "...";
  }

  private static TypeView fullState(List<Resource> resources) {
    Map<String, Resource> byName = new LinkedHashMap<>();
    resources.forEach(r -> byName.put(r.name(), r));
    return new TypeView() {
      @Override
      public Optional<Resource> get(String name) {
        return Optional.ofNullable(byName.get(name));
      }

      @Override
      public List<Resource> wildcard() {
        return resources;
      }

      @Override
      public boolean fullState() {
        return true;
      }
    };
  }
}
