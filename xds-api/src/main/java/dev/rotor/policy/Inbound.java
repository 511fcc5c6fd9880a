package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The workload's inbound listener: Envoy listens on {@link #port} (mutual TLS, peers authorized
 * by {@link #rules}) and forwards to the application on {@code 127.0.0.1:}{@link #appPort}.
 *
 * <p>Invariants (fail closed): at least one allow rule, so a port is never opened to every
 * caller; on a {@link Protocol#TCP} listener no rule has methods or paths, since they could not be
 * enforced and dropping them would widen the permission; {@code rules.get(i).index() == i}.
 *
 * @param port the listener port, 1..65535
 * @param appPort the local application's port on 127.0.0.1, 1..65535, different from {@code port}
 * @param protocol http or tcp
 * @param rules in file order; see {@link PolicyExplainer} for how they are evaluated
 */
public record Inbound(int port, int appPort, Protocol protocol, List<Rule> rules) {

  public Inbound {
    PolicyValues.require(PolicyValues.port(port), "port");
    PolicyValues.require(PolicyValues.port(appPort), "appPort");
    if (port == appPort) {
      throw new IllegalArgumentException("appPort: " + appPort + " (expected: different from port " + port + ")");
    }
    requireNonNull(protocol, "protocol");
    rules = List.copyOf(requireNonNull(rules, "rules"));
    for (int i = 0; i < rules.size(); i++) {
      Rule r = rules.get(i);
      if (r.index() != i) {
        throw new IllegalArgumentException("rules[" + i + "].index: " + r.index() + " (expected: " + i + ")");
      }
      if (protocol == Protocol.TCP && r.hasHttpConditions()) {
        throw new IllegalArgumentException("rules[" + i + "]: methods/paths on a tcp inbound"
            + " (expected: protocol http, or a rule without methods and paths)");
      }
    }
    if (rules.stream().noneMatch(r -> r.action() == Action.ALLOW)) {
      throw new IllegalArgumentException("rules: no allow rule (expected: at least one allow rule;"
          + " Rotor never opens a port to every caller)");
    }
  }

  /** Deny rules in file order (evaluated first). */
  public List<Rule> denyRules() {
    return rules.stream().filter(r -> r.action() == Action.DENY).toList();
  }

  /** Allow rules in file order (evaluated after every deny rule). */
  public List<Rule> allowRules() {
    return rules.stream().filter(r -> r.action() == Action.ALLOW).toList();
  }
}
