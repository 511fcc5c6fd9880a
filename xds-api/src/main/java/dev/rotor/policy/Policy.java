package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A parsed, valid policy file: the workloads Rotor serves, their listeners and who may call them.
 * Immutable; build one with {@link PolicyParser#parse} or {@link #of}.
 *
 * <p>Invariants: {@code version == 1}; workload names are unique; no node id and no SPIFFE ID is
 * matched by two workloads; when {@link #trustDomain} is set, every SPIFFE ID in the policy
 * (workload IDs, {@code from} IDs and ID prefixes, upstream IDs) is in it, and only a {@code from}
 * entry of kind {@link PeerMatcher.InTrustDomain} may name another trust domain; {@link
 * #contentVersion} is the digest of the canonical form of everything else.
 *
 * <p>See the package documentation for how rules are evaluated.
 *
 * @param version schema version, always 1
 * @param trustDomain the trust domain of the mesh, if the file names one
 * @param workloads in file order
 * @param maxConnectionDuration how long a TLS connection through a generated listener may live
 *     (key {@code maxConnectionDuration}, default {@value #DEFAULT_MAX_CONNECTION_DURATION_TEXT}):
 *     an Envoy keeps a connection open after the certificate it was made with expires, so the
 *     connection's age is bounded instead; at most a quarter of the SVID lifetime is the rule
 *     (docs/policy.md, "Connection lifetime")
 * @param contentVersion 16 lower-case hex characters of the SHA-256 of a canonical form of the
 *     policy (not of the file's text, so comments, whitespace, key order and YAML style do not
 *     change it); used as the xDS version of resources derived from it
 */
public record Policy(
    int version,
    Optional<TrustDomain> trustDomain,
    List<Workload> workloads,
    Duration maxConnectionDuration,
    String contentVersion) {

  /** The only schema version there is. */
  public static final int CURRENT_VERSION = 1;

  /**
   * A quarter of SPIRE's default X.509-SVID TTL (1h). A connection may start on a certificate just
   * before the agent renews it, at half-life or a few seconds later, so it must end within the
   * other half with margin. A mesh with shorter SVIDs sets the key; Rotor warns when it exceeds a
   * quarter of the lifetime of the SVIDs it serves.
   */
  public static final String DEFAULT_MAX_CONNECTION_DURATION_TEXT = "15m";
  public static final Duration DEFAULT_MAX_CONNECTION_DURATION = Duration.ofMinutes(15);

  public Policy {
    if (version != CURRENT_VERSION) {
      throw new IllegalArgumentException("version: " + version + " (expected: " + CURRENT_VERSION + ")");
    }
    requireNonNull(trustDomain, "trustDomain");
    workloads = List.copyOf(requireNonNull(workloads, "workloads"));
    requireNonNull(maxConnectionDuration, "maxConnectionDuration");
    PolicyValues.require(PolicyValues.maxConnectionDuration(maxConnectionDuration)
        .map(problem -> maxConnectionDuration + problem), "maxConnectionDuration");
    requireNonNull(contentVersion, "contentVersion");
    Map<String, String> names = new HashMap<>();
    Map<String, String> nodeIds = new HashMap<>();
    Map<SpiffeId, String> ids = new HashMap<>();
    for (Workload w : workloads) {
      if (names.put(w.name(), w.name()) != null) {
        throw new IllegalArgumentException("workloads: name \"" + w.name() + "\" is used twice");
      }
      for (String n : w.match().nodeIds()) {
        String other = nodeIds.putIfAbsent(n, w.name());
        if (other != null) {
          throw new IllegalArgumentException("workloads: node id \"" + n + "\" is matched by both "
              + other + " and " + w.name());
        }
      }
      for (SpiffeId id : w.match().spiffeIds()) {
        String other = ids.putIfAbsent(id, w.name());
        if (other != null) {
          throw new IllegalArgumentException("workloads: SPIFFE ID " + id + " is matched by both "
              + other + " and " + w.name());
        }
      }
      trustDomain.ifPresent(td -> requireInTrustDomain(w, td));
    }
    String expected = PolicyDigest.of(version, trustDomain, workloads, maxConnectionDuration);
    if (!contentVersion.equals(expected)) {
      throw new IllegalArgumentException("contentVersion: \"" + contentVersion
          + "\" (expected: " + expected + ", the digest of the policy's canonical form)");
    }
  }

  /** A policy with the default connection duration and its {@link #contentVersion} computed from the content. */
  public static Policy of(int version, Optional<TrustDomain> trustDomain, List<Workload> workloads) {
    return of(version, trustDomain, workloads, DEFAULT_MAX_CONNECTION_DURATION);
  }

  /** A policy with its {@link #contentVersion} computed from the content. */
  public static Policy of(
      int version, Optional<TrustDomain> trustDomain, List<Workload> workloads, Duration maxConnectionDuration) {
    return new Policy(version, trustDomain, workloads, maxConnectionDuration,
        PolicyDigest.of(version, trustDomain, workloads, maxConnectionDuration));
  }

  /** The workload whose Envoy sends this {@code node.id}. */
  public Optional<Workload> workloadForNode(String nodeId) {
    return workloads.stream().filter(w -> w.match().nodeIds().contains(nodeId)).findFirst();
  }

  /** The workload that holds this SPIFFE ID. */
  public Optional<Workload> workloadForSpiffeId(SpiffeId id) {
    return workloads.stream().filter(w -> w.match().spiffeIds().contains(id)).findFirst();
  }

  /** The workload with this name. */
  public Optional<Workload> workload(String name) {
    return workloads.stream().filter(w -> w.name().equals(name)).findFirst();
  }

  private static void requireInTrustDomain(Workload w, TrustDomain td) {
    String where = "workloads[" + w.name() + "]";
    for (SpiffeId id : w.match().spiffeIds()) {
      requireIn(td, id.getTrustDomain(), where + ".match.spiffeIds: " + id);
    }
    w.inbound().ifPresent(in -> {
      for (Rule r : in.rules()) {
        for (PeerMatcher m : r.from()) {
          if (!(m instanceof PeerMatcher.InTrustDomain)) {
            requireIn(td, m.trustDomain(), where + ".inbound.rules[" + r.index() + "].from: " + m.describe());
          }
        }
      }
    });
    for (Upstream u : w.outbound()) {
      for (SpiffeId id : u.spiffeIds()) {
        requireIn(td, id.getTrustDomain(), where + ".outbound[" + u.name() + "].spiffeIds: " + id);
      }
    }
  }

  private static void requireIn(TrustDomain expected, TrustDomain actual, String what) {
    if (!expected.equals(actual)) {
      throw new IllegalArgumentException(what + " (expected: in trust domain " + expected.getName() + ")");
    }
  }
}
