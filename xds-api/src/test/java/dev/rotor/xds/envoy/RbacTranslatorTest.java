package dev.rotor.xds.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.rotor.policy.Action;
import dev.rotor.policy.PathMatcher;
import dev.rotor.policy.PeerMatcher;
import dev.rotor.policy.Protocol;
import dev.rotor.policy.Rule;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.rbac.principals.mtls_authenticated.v3.Config;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.util.List;
import org.junit.jupiter.api.Test;

class RbacTranslatorTest {

  private static final PeerMatcher ANYONE_IN_DEMO = new PeerMatcher.IdPrefix("spiffe://example.org/ns/demo/");

  private static StringMatcher san(Principal p) {
    try {
      return p.getCustom().getTypedConfig().unpack(Config.class).getSanMatcher().getMatcher();
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private static Rule rule(List<String> methods, List<PathMatcher> paths) {
    return new Rule(0, Action.ALLOW, List.of(ANYONE_IN_DEMO), methods, paths, "");
  }

  private static Permission method(String m) {
    return Permission.newBuilder()
        .setHeader(HeaderMatcher.newBuilder().setName(":method").setStringMatch(StringMatcher.newBuilder().setExact(m)))
        .build();
  }

  private static Permission path(StringMatcher m) {
    return Permission.newBuilder().setUrlPath(io.envoyproxy.envoy.type.matcher.v3.PathMatcher.newBuilder().setPath(m)).build();
  }

  @Test
  void principals_matchTheUriSan_exactlyOrByPrefix() {
    assertThat(san(RbacTranslator.principal(new PeerMatcher.Exact(SpiffeId.parse("spiffe://example.org/a")))))
        .isEqualTo(StringMatcher.newBuilder().setExact("spiffe://example.org/a").build());
    assertThat(san(RbacTranslator.principal(new PeerMatcher.InTrustDomain(TrustDomain.parse("partner.org")))))
        .isEqualTo(StringMatcher.newBuilder().setPrefix("spiffe://partner.org/").build());
    assertThat(san(RbacTranslator.principal(ANYONE_IN_DEMO)))
        .isEqualTo(StringMatcher.newBuilder().setPrefix("spiffe://example.org/ns/demo/").build());
  }

  @Test
  void noConditions_isAnyPermission() {
    assertThat(RbacTranslator.permission(rule(List.of(), List.of()), Protocol.TCP, "w"))
        .isEqualTo(Permission.newBuilder().setAny(true).build());
  }

  @Test
  void oneMethod_isOneHeaderMatcher_severalAreOred() {
    assertThat(RbacTranslator.permission(rule(List.of("GET"), List.of()), Protocol.HTTP, "w")).isEqualTo(method("GET"));
    assertThat(RbacTranslator.permission(rule(List.of("GET", "HEAD"), List.of()), Protocol.HTTP, "w"))
        .isEqualTo(Permission.newBuilder()
            .setOrRules(Permission.Set.newBuilder().addRules(method("GET")).addRules(method("HEAD")))
            .build());
  }

  @Test
  void methodsAndPaths_areAnded_pathsUseUrlPath() {
    Permission p = RbacTranslator.permission(
        rule(List.of("POST"), List.of(PathMatcher.prefix("/api/"), PathMatcher.exact("/health"))), Protocol.HTTP, "w");
    assertThat(p).isEqualTo(Permission.newBuilder()
        .setAndRules(Permission.Set.newBuilder()
            .addRules(method("POST"))
            .addRules(Permission.newBuilder().setOrRules(Permission.Set.newBuilder()
                .addRules(path(StringMatcher.newBuilder().setPrefix("/api/").build()))
                .addRules(path(StringMatcher.newBuilder().setExact("/health").build()))))
        ).build());
  }

  @Test
  void httpConditionsOnTcp_throw_neverWiden() {
    assertThatThrownBy(() -> RbacTranslator.permission(rule(List.of("GET"), List.of()), Protocol.TCP, "workload db: inbound 5432"))
        .isInstanceOf(UntranslatablePolicyException.class)
        .hasMessage("workload db: inbound 5432: rules[0]: methods/paths on a tcp listener cannot be enforced"
            + " (expected: protocol http, or a rule without methods and paths)");
  }

  @Test
  void rbac_onePolicyPerRule_inIndexOrder_onlyThatAction() {
    List<Rule> rules = List.of(
        new Rule(0, Action.ALLOW, List.of(ANYONE_IN_DEMO), List.of(), List.of(), ""),
        new Rule(1, Action.DENY, List.of(ANYONE_IN_DEMO), List.of("DELETE"), List.of(), ""),
        new Rule(2, Action.ALLOW, List.of(ANYONE_IN_DEMO), List.of(), List.of(), ""),
        new Rule(10, Action.ALLOW, List.of(ANYONE_IN_DEMO), List.of(), List.of(), ""));
    RBAC allow = RbacTranslator.rbac(Action.ALLOW, rules, Protocol.HTTP, "w");
    assertThat(allow.getAction()).isEqualTo(RBAC.Action.ALLOW);
    assertThat(allow.getPoliciesMap().keySet()).containsExactly("rules[0]", "rules[2]", "rules[10]");
    RBAC deny = RbacTranslator.rbac(Action.DENY, rules, Protocol.HTTP, "w");
    assertThat(deny.getAction()).isEqualTo(RBAC.Action.DENY);
    assertThat(deny.getPoliciesMap().keySet()).containsExactly("rules[1]");
    assertThat(RbacTranslator.rbac(Action.DENY, rules.subList(0, 1), Protocol.HTTP, "w")).isNull();
  }

  @Test
  void everyFromEntry_isOnePrincipal() {
    Rule r = new Rule(0, Action.ALLOW, List.of(ANYONE_IN_DEMO, new PeerMatcher.InTrustDomain(TrustDomain.parse("partner.org"))),
        List.of(), List.of(), "");
    assertThat(RbacTranslator.policy(r, Protocol.HTTP, "w").getPrincipalsList()).hasSize(2);
  }
}
