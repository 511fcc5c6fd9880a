package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.util.HashSet;
import java.util.List;

/**
 * One outbound entry: the application calls {@code 127.0.0.1:}{@link #localPort} in plain text,
 * Envoy forwards over mutual TLS to {@link #host}{@code :}{@link #port} (normally the upstream's
 * own Envoy inbound port) and accepts the connection only if the upstream presents one of {@link
 * #spiffeIds}.
 *
 * @param name unique within the workload, {@code [a-z0-9]([-a-z0-9]*[a-z0-9])?}
 * @param localPort the port on 127.0.0.1 the application calls, 1..65535
 * @param host DNS name or IP address of the upstream (no brackets around IPv6)
 * @param port the upstream's port, 1..65535
 * @param spiffeIds what the upstream must present; at least one, no duplicates, in file order
 */
public record Upstream(String name, int localPort, String host, int port, List<SpiffeId> spiffeIds) {

  public Upstream {
    requireNonNull(name, "name");
    PolicyValues.require(PolicyValues.name(name), "name");
    PolicyValues.require(PolicyValues.port(localPort), "localPort");
    requireNonNull(host, "host");
    PolicyValues.require(PolicyValues.host(host), "host");
    PolicyValues.require(PolicyValues.port(port), "port");
    spiffeIds = List.copyOf(requireNonNull(spiffeIds, "spiffeIds"));
    if (spiffeIds.isEmpty()) {
      throw new IllegalArgumentException("spiffeIds: empty (expected: at least one SPIFFE ID the upstream must present)");
    }
    for (int i = 0; i < spiffeIds.size(); i++) {
      PolicyValues.require(PolicyValues.spiffeId(spiffeIds.get(i)), "spiffeIds[" + i + "]");
    }
    if (new HashSet<>(spiffeIds).size() != spiffeIds.size()) {
      throw new IllegalArgumentException("spiffeIds: " + spiffeIds + " has duplicates");
    }
  }

  /** {@code host:port}, with brackets around an IPv6 host. */
  public String address() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
