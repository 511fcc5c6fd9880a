package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One workload (one Envoy sidecar and the application behind it): how to recognize it, what it
 * accepts and what it calls.
 *
 * <p>Invariants: the name is {@code [a-z0-9]([-a-z0-9]*[a-z0-9])?} (it ends up in Envoy resource
 * names); upstream names are unique; the inbound port, the inbound app port and every outbound
 * local port all differ (they share the pod's network namespace, so two of them on one port could
 * not both be bound).
 *
 * @param name unique within the policy
 * @param match node ids and/or SPIFFE IDs that identify the workload
 * @param inbound the inbound listener, if the workload accepts connections
 * @param outbound upstreams the application calls, in file order
 */
public record Workload(String name, WorkloadMatch match, Optional<Inbound> inbound, List<Upstream> outbound) {

  public Workload {
    requireNonNull(name, "name");
    PolicyValues.require(PolicyValues.name(name), "name");
    requireNonNull(match, "match");
    requireNonNull(inbound, "inbound");
    outbound = List.copyOf(requireNonNull(outbound, "outbound"));
    Set<String> names = new HashSet<>();
    Map<Integer, String> ports = new HashMap<>();
    inbound.ifPresent(in -> {
      ports.put(in.port(), "inbound.port");
      ports.put(in.appPort(), "inbound.appPort");
    });
    for (int i = 0; i < outbound.size(); i++) {
      Upstream u = outbound.get(i);
      if (!names.add(u.name())) {
        throw new IllegalArgumentException("outbound[" + i + "].name: \"" + u.name() + "\" is used twice");
      }
      String previous = ports.putIfAbsent(u.localPort(), "outbound[" + i + "].port");
      if (previous != null) {
        throw new IllegalArgumentException("outbound[" + i + "].port: " + u.localPort()
            + " is already used by " + previous);
      }
    }
  }

  /** The upstream with this name, if any. */
  public Optional<Upstream> upstream(String upstreamName) {
    return outbound.stream().filter(u -> u.name().equals(upstreamName)).findFirst();
  }
}
