package dev.rotor.xds.envoy;

import com.google.protobuf.Any;
import dev.rotor.policy.Action;
import dev.rotor.policy.PathMatcher;
import dev.rotor.policy.PeerMatcher;
import dev.rotor.policy.Protocol;
import dev.rotor.policy.Rule;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.rbac.principals.mtls_authenticated.v3.Config;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.Comparator;
import java.util.List;

/**
 * Policy rules to Envoy RBAC, as small static functions. One RBAC policy per rule, named {@code
 * rules[<index>]} and inserted in index order, so Envoy's logs, stats and {@code explain} name the
 * same rule. Deny and allow rules go to separate RBAC configs (DENY before ALLOW in the chain),
 * which is exactly the policy's "deny first, then allow, else deny" evaluation.
 *
 * <p>Fails closed: a rule with a condition the target cannot enforce throws {@link
 * UntranslatablePolicyException}; nothing is dropped to make it fit.
 */
final class RbacTranslator {
  private RbacTranslator() {}

  /**
   * The RBAC config of the rules with {@code action}, or {@code null} if there are none (then no
   * filter is emitted for that action).
   */
  static RBAC rbac(Action action, List<Rule> rules, Protocol protocol, String where) {
    List<Rule> selected = rules.stream()
        .filter(r -> r.action() == action)
        .sorted(Comparator.comparingInt(Rule::index))
        .toList();
    if (selected.isEmpty()) {
      return null;
    }
    RBAC.Builder rbac = RBAC.newBuilder().setAction(action == Action.DENY ? RBAC.Action.DENY : RBAC.Action.ALLOW);
    for (Rule r : selected) {
      rbac.putPolicies(EnvoyNames.rulePolicy(r.index()), policy(r, protocol, where));
    }
    return rbac.build();
  }

  /**
   * A rule as one RBAC policy. Envoy matches a policy when any principal and any permission match,
   * so each {@code from} entry is one principal and the rule's HTTP conditions are one permission.
   */
  static Policy policy(Rule rule, Protocol protocol, String where) {
    if (rule.from().isEmpty()) {
      // Envoy would reject an empty principal list; an "anyone" reading would be a wider permission.
      throw new UntranslatablePolicyException(where + ": " + EnvoyNames.rulePolicy(rule.index())
          + ": no peers in from (expected: at least one)");
    }
    Policy.Builder p = Policy.newBuilder();
    for (PeerMatcher m : rule.from()) {
      p.addPrincipals(principal(m));
    }
    return p.addPermissions(permission(rule, protocol, where)).build();
  }

  /**
   * The peer as an {@code mtls_authenticated} principal (rule 30): the peer presented a
   * certificate the listener's validation context verified, and its URI SAN matches. It matches
   * URI SANs only, where {@code authenticated.principal_name} would fall back to DNS SANs and the
   * subject. It needs the certificate validated on this very connection, which holds because
   * Rotor's listeners never resume a TLS session ({@link TlsContexts#downstream}).
   */
  static Principal principal(PeerMatcher m) {
    StringMatcher san;
    if (m instanceof PeerMatcher.Exact e) {
      san = StringMatcher.newBuilder().setExact(e.id().toString()).build();
    } else if (m instanceof PeerMatcher.InTrustDomain t) {
      // The trailing '/' keeps spiffe://example.org from matching spiffe://example.org.evil/...
      san = StringMatcher.newBuilder().setPrefix(t.trustDomain().toIdString() + "/").build();
    } else if (m instanceof PeerMatcher.IdPrefix p) {
      san = StringMatcher.newBuilder().setPrefix(p.prefix()).build();
    } else {
      throw new UntranslatablePolicyException("peer matcher " + m.describe() + " has no RBAC translation");
    }
    Config mtls = Config.newBuilder()
        .setSanMatcher(SubjectAltNameMatcher.newBuilder()
            .setSanType(SubjectAltNameMatcher.SanType.URI)
            .setMatcher(san))
        .build();
    return Principal.newBuilder()
        .setCustom(TypedExtensionConfig.newBuilder()
            .setName(EnvoyNames.MTLS_AUTHENTICATED)
            .setTypedConfig(Any.pack(mtls)))
        .build();
  }

  /**
   * What the rule admits: anything, or its methods and/or paths (each list an or, both an and).
   * Paths use {@code url_path}, which ignores the query string, as the policy's path matcher does.
   */
  static Permission permission(Rule rule, Protocol protocol, String where) {
    if (!rule.hasHttpConditions()) {
      return Permission.newBuilder().setAny(true).build();
    }
    if (protocol != Protocol.HTTP) {
      throw new UntranslatablePolicyException(where + ": " + EnvoyNames.rulePolicy(rule.index())
          + ": methods/paths on a " + protocol.yamlName() + " listener cannot be enforced"
          + " (expected: protocol http, or a rule without methods and paths)");
    }
    Permission methods = rule.methods().isEmpty() ? null
        : anyOf(rule.methods().stream().map(RbacTranslator::method).toList());
    Permission paths = rule.paths().isEmpty() ? null
        : anyOf(rule.paths().stream().map(RbacTranslator::path).toList());
    if (methods != null && paths != null) {
      return Permission.newBuilder()
          .setAndRules(Permission.Set.newBuilder().addRules(methods).addRules(paths))
          .build();
    }
    return methods != null ? methods : paths;
  }

  private static Permission anyOf(List<Permission> ps) {
    if (ps.size() == 1) {
      return ps.get(0);
    }
    return Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addAllRules(ps)).build();
  }

  private static Permission method(String method) {
    return Permission.newBuilder()
        .setHeader(HeaderMatcher.newBuilder()
            .setName(":method")
            .setStringMatch(StringMatcher.newBuilder().setExact(method)))
        .build();
  }

  private static Permission path(PathMatcher p) {
    StringMatcher m = switch (p.kind()) {
      case EXACT -> StringMatcher.newBuilder().setExact(p.value()).build();
      case PREFIX -> StringMatcher.newBuilder().setPrefix(p.value()).build();
    };
    return Permission.newBuilder()
        .setUrlPath(io.envoyproxy.envoy.type.matcher.v3.PathMatcher.newBuilder().setPath(m))
        .build();
  }
}
