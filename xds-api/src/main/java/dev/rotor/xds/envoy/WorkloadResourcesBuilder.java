package dev.rotor.xds.envoy;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Message;
import dev.rotor.policy.Inbound;
import dev.rotor.policy.PeerMatcher;
import dev.rotor.policy.Policy;
import dev.rotor.policy.Rule;
import dev.rotor.policy.Upstream;
import dev.rotor.policy.Workload;
import dev.rotor.xds.secret.SecretNaming;
import dev.rotor.xds.validate.ProtoConstraints;
import dev.rotor.xds.validate.Violation;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Builds the listeners and clusters of one workload's Envoy from the policy. Pure and
 * deterministic: the same policy and workload give byte-identical resources, whatever the order of
 * the other workloads in the policy.
 *
 * <p>Every resource is checked with {@link ProtoConstraints} before it is returned; a policy that
 * would produce something Envoy rejects fails here with {@link UntranslatablePolicyException}
 * instead of being NACKed later.
 */
public final class WorkloadResourcesBuilder {

  /**
   * @param sds how listeners and clusters refer to secrets (shared, so byte-identical everywhere)
   * @param connectTimeout of every cluster; > 0
   */
  public record Options(SdsSecretConfigs sds, Duration connectTimeout) {
    /** Envoy's own default connect timeout. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);

    public Options {
      requireNonNull(sds, "sds");
      requireNonNull(connectTimeout, "connectTimeout");
      if (connectTimeout.isNegative() || connectTimeout.isZero()) {
        throw new IllegalArgumentException("connectTimeout: " + connectTimeout + " (expected: > 0)");
      }
    }

    /** Secrets over ADS with SPIRE's names, 5 s connect timeout. */
    public static Options defaults() {
      return new Options(SdsSecretConfigs.overAds(SecretNaming.SPIRE_DEFAULTS), DEFAULT_CONNECT_TIMEOUT);
    }
  }

  private WorkloadResourcesBuilder() {}

  public static WorkloadResources build(Policy policy, Workload workload, Options options) {
    requireNonNull(policy, "policy");
    requireNonNull(workload, "workload");
    requireNonNull(options, "options");
    if (!policy.workload(workload.name()).equals(Optional.of(workload))) {
      throw new IllegalArgumentException("workload " + workload.name() + ": not a workload of this policy");
    }
    String where = "workload " + workload.name();
    boolean federated = federated(policy, workload);
    com.google.protobuf.Duration timeout = Listeners.protoDuration(options.connectTimeout());

    List<Listener> listeners = new ArrayList<>();
    List<Cluster> clusters = new ArrayList<>();
    if (workload.inbound().isPresent()) {
      Inbound in = workload.inbound().get();
      listeners.add(Listeners.inbound(in, options.sds(), federated, policy.maxConnectionDuration(),
          where + ": inbound " + in.port()));
      clusters.add(Clusters.localApp(in.appPort(), timeout));
    }
    for (Upstream u : workload.outbound()) {
      listeners.add(Listeners.outbound(u, policy.maxConnectionDuration()));
      clusters.add(Clusters.outbound(u, timeout, options.sds(), federated));
    }
    listeners.sort(Comparator.comparing(Listener::getName));
    clusters.sort(Comparator.comparing(Cluster::getName));
    listeners.forEach(l -> requireValid(where + ": listener " + l.getName(), l));
    clusters.forEach(c -> requireValid(where + ": cluster " + c.getName(), c));
    return new WorkloadResources(listeners, clusters);
  }

  /**
   * Whether this workload deals with peers outside its own trust domain, and so validates with
   * all bundles ({@code ALL}) instead of its own ({@code ROOTCA}). Decided per workload: one that
   * only talks inside its trust domain does not trust federated bundles at all. The own trust
   * domain is the policy's, else that of the workload's own SPIFFE IDs; if neither says, a
   * workload naming a single trust domain is taken to live in it (fail closed: with ROOTCA a wrong
   * guess refuses connections, it never accepts more).
   */
  static boolean federated(Policy policy, Workload workload) {
    Set<String> named = new TreeSet<>();
    workload.inbound().ifPresent(in -> {
      for (Rule r : in.rules()) {
        for (PeerMatcher m : r.from()) {
          named.add(m.trustDomain().getName());
        }
      }
    });
    for (Upstream u : workload.outbound()) {
      for (SpiffeId id : u.spiffeIds()) {
        named.add(id.getTrustDomain().getName());
      }
    }
    Set<String> own = policy.trustDomain().map(td -> Set.of(td.getName()))
        .orElseGet(() -> workload.match().spiffeIds().stream()
            .map(SpiffeId::getTrustDomain).map(TrustDomain::getName).collect(Collectors.toSet()));
    if (own.isEmpty()) {
      return named.size() > 1;
    }
    return !own.containsAll(named);
  }

  static void requireValid(String what, Message resource) {
    List<Violation> violations = ProtoConstraints.validate(resource);
    if (!violations.isEmpty()) {
      throw new UntranslatablePolicyException(what + ": Envoy would reject it: "
          + violations.stream().map(Violation::toString).collect(Collectors.joining("; ")));
    }
  }
}
