package dev.rotor.policy;

import static dev.rotor.policy.PolicyParserTest.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spiffe.spiffeid.TrustDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The model enforces its invariants for values built in code, not only for parsed ones. */
class PolicyModelTest {

  private static final PeerMatcher FRONTEND = new PeerMatcher.Exact(id("spiffe://example.org/ns/demo/sa/frontend"));
  private static final Rule ALLOW_FRONTEND = new Rule(0, Action.ALLOW, List.of(FRONTEND), List.of(), List.of(), "");

  @Test
  void inbound_withOnlyDenyRules_isRejected() {
    Rule deny = new Rule(0, Action.DENY, List.of(FRONTEND), List.of(), List.of(), "");

    assertThatThrownBy(() -> new Inbound(8080, 9090, Protocol.HTTP, List.of(deny)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("rules: no allow rule (expected: at least one allow rule; Rotor never opens a port to every caller)");
  }

  @Test
  void tcpInbound_withMethods_isRejected() {
    Rule r = new Rule(0, Action.ALLOW, List.of(FRONTEND), List.of("GET"), List.of(), "");

    assertThatThrownBy(() -> new Inbound(5433, 5432, Protocol.TCP, List.of(r)))
        .hasMessageStartingWith("rules[0]: methods/paths on a tcp inbound");
  }

  @Test
  void rule_indexMustBeItsPosition() {
    Rule second = new Rule(1, Action.ALLOW, List.of(FRONTEND), List.of(), List.of(), "");

    assertThatThrownBy(() -> new Inbound(8080, 9090, Protocol.HTTP, List.of(second)))
        .hasMessage("rules[0].index: 1 (expected: 0)");
  }

  @Test
  void rule_copiesItsLists() {
    List<String> methods = new ArrayList<>(List.of("GET"));
    Rule r = new Rule(0, Action.ALLOW, List.of(FRONTEND), methods, List.of(), "");
    methods.add("POST");

    assertThat(r.methods()).containsExactly("GET");
    assertThatThrownBy(() -> r.methods().add("PUT")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void workload_portsMustDiffer() {
    Inbound in = new Inbound(8080, 9090, Protocol.HTTP, List.of(ALLOW_FRONTEND));
    Upstream clash = new Upstream("db", 9090, "db", 5432, List.of(id("spiffe://example.org/db")));

    assertThatThrownBy(() -> new Workload("backend", nodes("backend"), Optional.of(in), List.of(clash)))
        .hasMessage("outbound[0].port: 9090 is already used by inbound.appPort");
  }

  @Test
  void workloadMatch_isSortedAndNeedsSomething() {
    WorkloadMatch m = new WorkloadMatch(Set.of("b", "a"),
        Set.of(id("spiffe://example.org/z"), id("spiffe://example.org/a")));

    assertThat(m.nodeIds()).containsExactly("a", "b");
    assertThat(m.spiffeIds()).containsExactly(id("spiffe://example.org/a"), id("spiffe://example.org/z"));
    assertThatThrownBy(() -> new WorkloadMatch(Set.of(), Set.of()))
        .hasMessageStartingWith("nodeIds, spiffeIds: both empty");
  }

  @Test
  void policy_of_computesContentVersion_andTheConstructorChecksIt() {
    Workload w = new Workload("backend", nodes("backend"),
        Optional.of(new Inbound(8080, 9090, Protocol.HTTP, List.of(ALLOW_FRONTEND))), List.of());
    Policy p = Policy.of(1, Optional.empty(), List.of(w));

    assertThat(p.contentVersion()).matches("[0-9a-f]{16}");
    assertThat(new Policy(1, Optional.empty(), List.of(w), Policy.DEFAULT_MAX_CONNECTION_DURATION, p.contentVersion())).isEqualTo(p);
    assertThatThrownBy(() -> new Policy(1, Optional.empty(), List.of(w), Policy.DEFAULT_MAX_CONNECTION_DURATION, "0000000000000000"))
        .hasMessageStartingWith("contentVersion: \"0000000000000000\" (expected: " + p.contentVersion());
  }

  @Test
  void policy_nodeIdOfTwoWorkloads_isRejected() {
    Workload a = new Workload("a", nodes("shared"), Optional.empty(), List.of());
    Workload b = new Workload("b", nodes("shared"), Optional.empty(), List.of());

    assertThatThrownBy(() -> Policy.of(1, Optional.empty(), List.of(a, b)))
        .hasMessage("workloads: node id \"shared\" is matched by both a and b");
  }

  @Test
  void policy_idOutsideTrustDomain_isRejected_butATrustDomainMatcherMayNameAnother() {
    Rule partner = new Rule(0, Action.ALLOW, List.of(new PeerMatcher.InTrustDomain(TrustDomain.parse("partner.org"))),
        List.of(), List.of(), "");
    Workload ok = new Workload("a", nodes("a"), Optional.of(new Inbound(1, 2, Protocol.TCP, List.of(partner))), List.of());
    Workload bad = new Workload("b", nodes("b"), Optional.empty(), List.of(
        new Upstream("up", 9001, "up", 80, List.of(id("spiffe://partner.org/up")))));

    assertThat(Policy.of(1, Optional.of(TrustDomain.parse("example.org")), List.of(ok)).workloads()).hasSize(1);
    assertThatThrownBy(() -> Policy.of(1, Optional.of(TrustDomain.parse("example.org")), List.of(bad)))
        .hasMessage("workloads[b].outbound[up].spiffeIds: spiffe://partner.org/up (expected: in trust domain example.org)");
  }

  @Test
  void idPrefix_matchesWholeSegmentsOnly() {
    PeerMatcher.IdPrefix p = new PeerMatcher.IdPrefix("spiffe://example.org/ns/demo/");

    assertThat(p.matches(id("spiffe://example.org/ns/demo/sa/x"))).isTrue();
    assertThat(p.matches(id("spiffe://example.org/ns/demo-2/sa/x"))).isFalse();
    assertThat(p.matches(id("spiffe://example.org/ns/demo"))).isFalse();
    assertThat(p.trustDomain()).isEqualTo(TrustDomain.parse("example.org"));
    assertThat(new PeerMatcher.IdPrefix("spiffe://example.org/").matches(id("spiffe://example.org/a"))).isTrue();
    assertThatThrownBy(() -> new PeerMatcher.IdPrefix("spiffe://example.org/ns"))
        .hasMessageStartingWith("prefix: \"spiffe://example.org/ns\" does not end with '/'");
    assertThatThrownBy(() -> new PeerMatcher.IdPrefix("spiffe://example.org/ns//"))
        .hasMessageStartingWith("prefix: \"spiffe://example.org/ns//\" has an empty path segment");
  }

  @Test
  void inTrustDomain_matchesMembersOnly() {
    PeerMatcher m = new PeerMatcher.InTrustDomain(TrustDomain.parse("partner.org"));

    assertThat(m.matches(id("spiffe://partner.org/x"))).isTrue();
    assertThat(m.matches(id("spiffe://partner.org.evil.com/x"))).isFalse();
    assertThat(m.describe()).isEqualTo("trustDomain partner.org");
  }

  @Test
  void pathMatcher_prefixMustEndWithSlash() {
    assertThat(PathMatcher.prefix("/api/").matches("/api/v1")).isTrue();
    assertThat(PathMatcher.prefix("/api/").matches("/apix")).isFalse();
    assertThat(PathMatcher.exact("/health").matches("/health/")).isFalse();
    assertThat(PathMatcher.exact("/health").describe()).isEqualTo("=/health");
    assertThatThrownBy(() -> PathMatcher.prefix("/api"))
        .hasMessage("value: \"/api\" is not a prefix path (expected it to end with '/')");
  }

  private static WorkloadMatch nodes(String... ids) {
    return new WorkloadMatch(Set.of(ids), Set.of());
  }
}
