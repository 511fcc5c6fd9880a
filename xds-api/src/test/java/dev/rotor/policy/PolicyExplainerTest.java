package dev.rotor.policy;

import static dev.rotor.policy.PolicyParserTest.id;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The evaluation order of rules (deny, then allow, then default deny) and what each matcher matches. */
class PolicyExplainerTest {

  private static final String POLICY = """
      version: 1
      trustDomain: example.org
      workloads:
        - name: backend
          match: {nodeIds: [backend]}
          inbound:
            port: 8080
            appPort: 9090
            protocol: http
            rules:
              - action: allow                                          # rules[0]
                from:
                  - spiffeId: spiffe://example.org/ns/demo/sa/frontend
                  - spiffeIdPrefix: spiffe://example.org/ns/ops/
                methods: [GET, POST]
                paths: [/api/, =/health]
              - action: deny                                           # rules[1]
                from:
                  - spiffeId: spiffe://example.org/ns/ops/sa/intern
                methods: [POST]
              - action: allow                                          # rules[2]
                from:
                  - trustDomain: partner.org
                paths: [=/health]
              - action: deny                                           # rules[3]
                from:
                  - spiffeIdPrefix: spiffe://example.org/ns/ops/quarantine/
        - name: postgres
          match: {nodeIds: [postgres]}
          inbound:
            port: 5433
            appPort: 5432
            protocol: tcp
            rules:
              - action: allow
                from: [{spiffeId: spiffe://example.org/ns/demo/sa/backend}]
        - name: frontend
          match: {nodeIds: [frontend]}
      """;

  private static final Policy P = parse();

  @Test
  void exactId_withAllowedMethodAndPath_isAllowedByTheFirstRule() {
    Decision d = explain("backend", "spiffe://example.org/ns/demo/sa/frontend", "GET", "/api/orders");

    assertThat(d.allowed()).isTrue();
    assertThat(d.decidingRule()).map(Rule::index).contains(0);
    assertThat(d.reason()).isEqualTo("allowed by rules[0] (allow spiffe://example.org/ns/demo/sa/frontend,"
        + " spiffeIdPrefix spiffe://example.org/ns/ops/ methods [GET, POST] paths [/api/, =/health])");
  }

  @Test
  void denyRule_overridesAnEarlierAllowRule() {
    Decision d = explain("backend", "spiffe://example.org/ns/ops/sa/intern", "POST", "/api/orders");

    assertThat(d.allowed()).isFalse();
    assertThat(d.decidingRule()).map(Rule::index).contains(1);
    assertThat(d.reason())
        .isEqualTo("denied by rules[1] (deny spiffe://example.org/ns/ops/sa/intern methods [POST])");
  }

  @Test
  void denyRule_withAMethodCondition_doesNotApplyToOtherMethods() {
    Decision d = explain("backend", "spiffe://example.org/ns/ops/sa/intern", "GET", "/api/orders");

    assertThat(d.allowed()).isTrue();
    assertThat(d.decidingRule()).map(Rule::index).contains(0);
  }

  @Test
  void noMatchingAllowRule_isDefaultDeny() {
    Decision d = explain("backend", "spiffe://example.org/ns/demo/sa/stranger", "GET", "/api/orders");

    assertThat(d).isEqualTo(new Decision(false, Optional.empty(), "denied: no allow rule matches (default deny)"));
  }

  @ParameterizedTest(name = "{0} {1} {2} -> {3}")
  @CsvSource({
      // peer,                                            method, path,             allowed, rule
      "spiffe://example.org/ns/demo/sa/frontend,          GET,    /api/,            true,    0",
      "spiffe://example.org/ns/demo/sa/frontend,          GET,    /health,          true,    0",
      "spiffe://example.org/ns/demo/sa/frontend,          GET,    /health/x,        false,   -1",
      "spiffe://example.org/ns/demo/sa/frontend,          GET,    /api,             false,   -1",
      "spiffe://example.org/ns/demo/sa/frontend,          GET,    /api/x?debug=1,   true,    0",
      "spiffe://example.org/ns/demo/sa/frontend,          DELETE, /api/x,           false,   -1",
      "spiffe://example.org/ns/demo/sa/frontend,          get,    /api/x,           false,   -1",
      "spiffe://example.org/ns/ops/sa/alice,              POST,   /api/x,           true,    0",
      "spiffe://example.org/ns/ops-2/sa/alice,            GET,    /api/x,           false,   -1",
      "spiffe://example.org/ns/ops/quarantine/sa/bob,     GET,    /api/x,           false,   3",
      "spiffe://partner.org/anything,                     GET,    /health,          true,    2",
      "spiffe://partner.org/anything,                     GET,    /api/x,           false,   -1",
      "spiffe://example.org/partner.org/x,                GET,    /health,          false,   -1",
  })
  void matchers(String peer, String method, String path, boolean allowed, int rule) {
    Decision d = explain("backend", peer, method, path);

    assertThat(d.allowed()).as(d.reason()).isEqualTo(allowed);
    assertThat(d.decidingRule().map(Rule::index).orElse(-1)).as(d.reason()).isEqualTo(rule);
  }

  @Test
  void withoutMethod_aDenyRuleThatRestrictsMethodsIsAssumedToApply() {
    Decision d = PolicyExplainer.explain(P, "backend", id("spiffe://example.org/ns/ops/sa/intern"),
        OptionalInt.empty(), Optional.empty(), Optional.of("/api/x"));

    assertThat(d.allowed()).isFalse();
    assertThat(d.reason()).isEqualTo("denied by rules[1] (deny spiffe://example.org/ns/ops/sa/intern"
        + " methods [POST]); method not given, so this rule is assumed to apply");
  }

  @Test
  void withoutMethod_anAllowRuleThatRestrictsMethodsDoesNotAllow() {
    Decision d = PolicyExplainer.explain(P, "backend", id("spiffe://example.org/ns/demo/sa/frontend"),
        OptionalInt.empty(), Optional.empty(), Optional.empty());

    assertThat(d.allowed()).isFalse();
    assertThat(d.reason()).isEqualTo("denied: no allow rule matches (default deny); an allow rule that"
        + " restricts the method or path might match once they are given");
  }

  @Test
  void tcpInbound_matchesOnThePeerOnly() {
    Decision allowed = PolicyExplainer.explain(P, "postgres", id("spiffe://example.org/ns/demo/sa/backend"),
        OptionalInt.of(5433), Optional.empty(), Optional.empty());
    Decision denied = PolicyExplainer.explain(P, "postgres", id("spiffe://example.org/ns/demo/sa/frontend"),
        OptionalInt.of(5433), Optional.empty(), Optional.empty());

    assertThat(allowed.allowed()).isTrue();
    assertThat(allowed.reason()).isEqualTo("allowed by rules[0] (allow spiffe://example.org/ns/demo/sa/backend)");
    assertThat(denied.reason()).isEqualTo("denied: no allow rule matches (default deny)");
  }

  @Test
  void wrongPort_isDenied() {
    Decision d = PolicyExplainer.explain(P, "backend", id("spiffe://example.org/ns/demo/sa/frontend"),
        OptionalInt.of(9999), Optional.of("GET"), Optional.of("/api/"));

    assertThat(d).isEqualTo(new Decision(false, Optional.empty(),
        "denied: workload backend has no inbound on port 9999"));
  }

  @Test
  void appPort_isNotAnInboundPort() {
    Decision d = PolicyExplainer.explain(P, "backend", id("spiffe://example.org/ns/demo/sa/frontend"),
        OptionalInt.of(9090), Optional.of("GET"), Optional.of("/api/"));

    assertThat(d.allowed()).isFalse();
  }

  @Test
  void workloadWithoutInbound_isDenied() {
    assertThat(explain("frontend", "spiffe://example.org/ns/demo/sa/backend", "GET", "/").reason())
        .isEqualTo("denied: workload frontend has no inbound");
  }

  @Test
  void unknownWorkload_isDenied() {
    assertThat(explain("nobody", "spiffe://example.org/ns/demo/sa/backend", "GET", "/").reason())
        .isEqualTo("denied: no workload named nobody");
  }

  private static Decision explain(String workload, String peer, String method, String path) {
    return PolicyExplainer.explain(P, workload, id(peer), OptionalInt.empty(), Optional.of(method), Optional.of(path));
  }

  private static Policy parse() {
    try {
      return PolicyParser.parse("explain.yaml", POLICY);
    } catch (PolicyException e) {
      throw new AssertionError(e.getMessage(), e);
    }
  }

  @Test
  void callerId_refusesWhatPolicyCheckRefuses_andTakesCanonicalIds() {
    assertThat(PolicyExplainer.callerId("spiffe://example.org/ns/demo/sa/frontend"))
        .isEqualTo(id("spiffe://example.org/ns/demo/sa/frontend"));
    assertThatThrownBy(() -> PolicyExplainer.callerId("spiffe://EXAMPLE.org/a"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("\"spiffe://EXAMPLE.org/a\" is not in canonical form (expected spiffe://example.org/a)");
    assertThatThrownBy(() -> PolicyExplainer.callerId("spiffe://example.org"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is a trust domain ID, not a workload ID");
  }
}
