package dev.rotor.config;

import static java.util.Objects.requireNonNull;

import dev.rotor.protocol.TypeView;
import dev.rotor.protocol.XdsState;
import dev.rotor.sds.SecretState;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.envoy.WorkloadResources;
import io.envoyproxy.envoy.config.core.v3.Node;
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
  public TypeView view(String typeUrl, Node node) {
    switch (typeUrl) {
      case TypeUrls.SECRET:
        return secrets.view(typeUrl, node);
      case TypeUrls.LISTENER:
        return fullState(resources(node).map(WorkloadResources::listenerResources).orElse(List.of()));
      case TypeUrls.CLUSTER:
        return fullState(resources(node).map(WorkloadResources::clusterResources).orElse(List.of()));
      default:
        return TypeView.empty(false);
    }
  }

  private Optional<WorkloadResources> resources(Node node) {
    return policy.flatMap(p -> p.resourcesFor(node, ownId));
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
