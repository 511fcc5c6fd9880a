package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.util.Collections;
import java.util.Comparator;
import java.util.Set;
import java.util.TreeSet;

/**
 * How to serve over TCP with mutual TLS.
 *
 * @param host the address to listen on, e.g. {@code 0.0.0.0} or {@code 127.0.0.1}
 * @param port the port; 0 picks a free one (tests)
 * @param allowedClientIds the SPIFFE IDs whose calls are served; never empty: a TCP listener
 *     reachable from the network has no "any valid SVID" mode
 */
public record TcpMtlsOptions(String host, int port, Set<SpiffeId> allowedClientIds) {

  public TcpMtlsOptions {
    requireNonNull(host, "host");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host: empty (expected: an address to listen on, e.g. 0.0.0.0)");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
    }
    requireNonNull(allowedClientIds, "allowedClientIds");
    if (allowedClientIds.isEmpty()) {
      throw new IllegalArgumentException(
          "allowedClientIds: empty (expected: at least one SPIFFE ID, e.g. spiffe://example.org/ns/app/sa/envoy)");
    }
    TreeSet<SpiffeId> sorted = new TreeSet<>(Comparator.comparing(SpiffeId::toString));
    for (SpiffeId id : allowedClientIds) {
      sorted.add(requireNonNull(id, "allowedClientIds element"));
    }
    allowedClientIds = Collections.unmodifiableSet(sorted);
  }

  /** {@code host:port} as the {@code --tcp-listen} flag spells it (IPv6 hosts in brackets). */
  public String listenAddress() {
    return (host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
  }
}
