package dev.rotor.xds.envoy;

import dev.rotor.policy.Action;
import dev.rotor.policy.Inbound;
import dev.rotor.policy.PathMatcher;
import dev.rotor.policy.PeerMatcher;
import dev.rotor.policy.Policy;
import dev.rotor.policy.Protocol;
import dev.rotor.policy.Rule;
import dev.rotor.policy.Upstream;
import dev.rotor.policy.Workload;
import dev.rotor.policy.WorkloadMatch;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Policies the builder tests share: the demo, and one that uses every feature. */
final class DemoPolicies {
  private DemoPolicies() {}

  static final TrustDomain EXAMPLE_ORG = TrustDomain.parse("example.org");
  static final SpiffeId FRONTEND = SpiffeId.parse("spiffe://example.org/ns/demo/sa/frontend");
  static final SpiffeId BACKEND = SpiffeId.parse("spiffe://example.org/ns/demo/sa/backend");

  static Workload demoBackend() {
    return new Workload("backend", new WorkloadMatch(Set.of("backend"), Set.of(BACKEND)),
        Optional.of(new Inbound(8080, 9090, Protocol.HTTP, List.of(
            allow(0, List.of(new PeerMatcher.Exact(FRONTEND)))))),
        List.of());
  }

  static Workload demoFrontend() {
    return new Workload("frontend", new WorkloadMatch(Set.of("frontend"), Set.of(FRONTEND)),
        Optional.empty(),
        List.of(new Upstream("backend", 9001, "backend.demo.svc.cluster.local", 8080, List.of(BACKEND))));
  }

  /** The demo's bound on connection age: its SVIDs live 2 minutes (deploy/policy/demo-policy.yaml). */
  static final Duration DEMO_MAX_CONNECTION_DURATION = Duration.ofSeconds(30);

  /** Backend accepts only the frontend on 8080 (app on 9090); the frontend calls it through 127.0.0.1:9001. */
  static Policy demo() {
    return Policy.of(1, Optional.of(EXAMPLE_ORG), List.of(demoBackend(), demoFrontend()), DEMO_MAX_CONNECTION_DURATION);
  }

  static Policy demoReordered() {
    return Policy.of(1, Optional.of(EXAMPLE_ORG), List.of(demoFrontend(), demoBackend()), DEMO_MAX_CONNECTION_DURATION);
  }

  /**
   * Every feature: an HTTP inbound with deny and allow rules, methods, exact and prefix paths,
   * exact, trust-domain (federated partner.org) and prefix peers; a TCP inbound with deny and
   * allow; several upstreams, one by IP address.
   */
  static Policy everything() {
    Workload api = new Workload("api", new WorkloadMatch(Set.of("api"), Set.of(SpiffeId.parse("spiffe://example.org/ns/prod/sa/api"))),
        Optional.of(new Inbound(8443, 8080, Protocol.HTTP, List.of(
            new Rule(0, Action.ALLOW, List.of(new PeerMatcher.Exact(FRONTEND)),
                List.of("GET", "POST"), List.of(PathMatcher.prefix("/api/"), PathMatcher.exact("/health")), "frontend reads and writes"),
            new Rule(1, Action.DENY, List.of(new PeerMatcher.IdPrefix("spiffe://example.org/ns/demo/")),
                List.of(), List.of(PathMatcher.prefix("/admin/")), "nobody from demo on admin"),
            new Rule(2, Action.ALLOW, List.of(new PeerMatcher.InTrustDomain(TrustDomain.parse("partner.org"))),
                List.of("GET"), List.of(), "partner may read"),
            new Rule(3, Action.ALLOW, List.of(new PeerMatcher.IdPrefix("spiffe://example.org/ns/ops/"),
                new PeerMatcher.Exact(BACKEND)), List.of(), List.of(PathMatcher.exact("/metrics")), "ops scrape"),
            new Rule(4, Action.DENY, List.of(new PeerMatcher.Exact(SpiffeId.parse("spiffe://example.org/ns/demo/sa/bad"))),
                List.of("DELETE"), List.of(), "never delete")))),
        List.of(
            new Upstream("db", 5432, "db.prod.svc.cluster.local", 5432, List.of(SpiffeId.parse("spiffe://example.org/ns/prod/sa/db"))),
            new Upstream("cache", 6379, "10.0.0.7", 6379, List.of(
                SpiffeId.parse("spiffe://example.org/ns/prod/sa/cache-b"), SpiffeId.parse("spiffe://example.org/ns/prod/sa/cache-a")))));
    Workload db = new Workload("db", new WorkloadMatch(Set.of("db"), Set.of(SpiffeId.parse("spiffe://example.org/ns/prod/sa/db"))),
        Optional.of(new Inbound(5432, 15432, Protocol.TCP, List.of(
            new Rule(0, Action.DENY, List.of(new PeerMatcher.Exact(SpiffeId.parse("spiffe://example.org/ns/prod/sa/old"))), List.of(), List.of(), ""),
            new Rule(1, Action.ALLOW, List.of(new PeerMatcher.IdPrefix("spiffe://example.org/ns/prod/")), List.of(), List.of(), "")))),
        List.of());
    return Policy.of(1, Optional.of(EXAMPLE_ORG), List.of(api, db));
  }

  static Rule allow(int index, List<PeerMatcher> from) {
    return new Rule(index, Action.ALLOW, from, List.of(), List.of(), "");
  }
}
