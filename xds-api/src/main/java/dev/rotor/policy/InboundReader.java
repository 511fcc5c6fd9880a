package dev.rotor.policy;

import static dev.rotor.policy.NodeReader.child;
import static dev.rotor.policy.NodeReader.index;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.snakeyaml.engine.v2.nodes.Node;

/** Reads a workload's {@code inbound} section and its rules (see {@link PolicyParser}). */
final class InboundReader {

  static final List<String> INBOUND_KEYS = List.of("port", "appPort", "protocol", "rules");
  static final List<String> RULE_KEYS = List.of("action", "from", "methods", "paths", "description");
  static final List<String> FROM_KEYS = List.of("spiffeId", "trustDomain", "spiffeIdPrefix");
  static final String NO_ALLOW_RULE =
      "no allow rule (expected: at least one allow rule; Rotor never opens a port to every caller)";

  private final NodeReader r;
  private final TrustDomainRule trustDomainRule;
  private final PortClaims ports;

  InboundReader(NodeReader r, TrustDomainRule trustDomainRule, PortClaims ports) {
    this.r = r;
    this.trustDomainRule = trustDomainRule;
    this.ports = ports;
  }

  Optional<Inbound> read(Node node, String path) {
    int before = r.errorCount();
    Optional<Map<String, Node>> mapping = r.mapping(node, path, INBOUND_KEYS);
    if (mapping.isEmpty()) {
      return Optional.empty();
    }
    Map<String, Node> m = mapping.get();
    OptionalInt port = portAt(m, "port", node, path, "the listener port, 1..65535");
    OptionalInt appPort = portAt(m, "appPort", node, path, "the application's port on 127.0.0.1, 1..65535");
    Optional<Protocol> protocol = r.required(m, "protocol", node, path, "http or tcp")
        .flatMap(n -> protocol(n, child(path, "protocol")));
    List<Rule> rules = rules(m, node, child(path, "rules"), protocol);
    if (r.errorCount() > before) {
      return Optional.empty();
    }
    return Optional.of(new Inbound(port.getAsInt(), appPort.getAsInt(), protocol.get(), rules));
  }

  private OptionalInt portAt(Map<String, Node> m, String key, Node parent, String path, String expected) {
    Optional<Node> n = r.required(m, key, parent, path, expected);
    if (n.isEmpty()) {
      return OptionalInt.empty();
    }
    OptionalInt p = r.port(n.get(), child(path, key));
    p.ifPresent(v -> ports.claim(v, n.get(), child(path, key)));
    return p;
  }

  private Optional<Protocol> protocol(Node n, String path) {
    return r.string(n, path, "http or tcp").flatMap(s -> {
      for (Protocol p : Protocol.values()) {
        if (p.yamlName().equals(s)) {
          return Optional.of(p);
        }
      }
      r.error(n, path, PolicyValues.quote(s) + " is not a protocol (expected http or tcp)");
      return Optional.empty();
    });
  }

  private List<Rule> rules(Map<String, Node> m, Node parent, String path, Optional<Protocol> protocol) {
    Node rulesNode = m.get("rules");
    if (rulesNode == null) {
      r.error(parent, path, NO_ALLOW_RULE);
      return List.of();
    }
    Optional<List<Node>> items = r.sequence(rulesNode, path, "a list of rules");
    if (items.isEmpty()) {
      return List.of();
    }
    List<Rule> rules = new ArrayList<>();
    boolean sawAllow = false;
    boolean actionUnknown = false;
    for (int i = 0; i < items.get().size(); i++) {
      RuleDraft d = rule(items.get().get(i), index(path, i), i, protocol);
      sawAllow |= d.action.orElse(null) == Action.ALLOW;
      actionUnknown |= d.action.isEmpty();
      d.rule.ifPresent(rules::add);
    }
    if (!sawAllow && !actionUnknown) {
      r.error(rulesNode, path, NO_ALLOW_RULE);
    }
    return rules;
  }

  /** What could be read of one rule: its action (for the allow-rule check) and the rule itself. */
  private record RuleDraft(Optional<Action> action, Optional<Rule> rule) {}

  private RuleDraft rule(Node node, String path, int idx, Optional<Protocol> protocol) {
    int before = r.errorCount();
    Optional<Map<String, Node>> mapping = r.mapping(node, path, RULE_KEYS);
    if (mapping.isEmpty()) {
      return new RuleDraft(Optional.empty(), Optional.empty());
    }
    Map<String, Node> m = mapping.get();
    Optional<Action> action = r.required(m, "action", node, path, "allow or deny")
        .flatMap(n -> action(n, child(path, "action")));
    Optional<List<PeerMatcher>> from = r.required(m, "from", node, path, "a list of peers")
        .flatMap(n -> from(n, child(path, "from")));
    List<String> methods = List.of();
    List<PathMatcher> paths = List.of();
    if (m.containsKey("methods")) {
      tcpCheck(m.get("methods"), child(path, "methods"), protocol);
      methods = methods(m.get("methods"), child(path, "methods")).orElse(List.of());
    }
    if (m.containsKey("paths")) {
      tcpCheck(m.get("paths"), child(path, "paths"), protocol);
      Optional<List<PathMatcher>> read = r.list(m.get("paths"), child(path, "paths"), "a list of paths", this::path);
      if (read.isPresent() && read.get().isEmpty()) {
        emptyList(m.get("paths"), child(path, "paths"), "path", "paths");
      }
      paths = read.orElse(List.of());
    }
    Optional<String> description = m.containsKey("description")
        ? r.string(m.get("description"), child(path, "description"), "a text")
        : Optional.of("");
    if (r.errorCount() > before) {
      return new RuleDraft(action, Optional.empty());
    }
    return new RuleDraft(action, Optional.of(
        new Rule(idx, action.get(), from.get(), methods, paths, description.get())));
  }

  private Optional<Action> action(Node n, String path) {
    return r.string(n, path, "allow or deny").flatMap(s -> {
      for (Action a : Action.values()) {
        if (a.yamlName().equals(s)) {
          return Optional.of(a);
        }
      }
      r.error(n, path, PolicyValues.quote(s) + " is not an action (expected allow or deny)");
      return Optional.empty();
    });
  }

  private void tcpCheck(Node n, String path, Optional<Protocol> protocol) {
    if (protocol.orElse(null) == Protocol.TCP) {
      r.error(n, path, "not allowed with protocol tcp (expected protocol http; a tcp listener cannot"
          + " enforce methods or paths, and Rotor never drops a condition it cannot enforce)");
    }
  }

  private void emptyList(Node n, String path, String singular, String key) {
    r.error(n, path, "empty list (expected at least one " + singular + ", or no " + key
        + " key to match any " + singular + ")");
  }

  private Optional<List<PeerMatcher>> from(Node n, String path) {
    Optional<List<PeerMatcher>> from = r.list(n, path, "a list of peers", this::peer);
    if (from.isPresent() && from.get().isEmpty()) {
      r.error(n, path, "empty list (expected at least one peer: spiffeId, trustDomain or spiffeIdPrefix)");
      return Optional.empty();
    }
    return from;
  }

  private Optional<PeerMatcher> peer(Node node, String path) {
    Optional<Map<String, Node>> mapping = r.mapping(node, path, FROM_KEYS);
    if (mapping.isEmpty()) {
      return Optional.empty();
    }
    Map<String, Node> m = mapping.get();
    if (m.size() != 1) {
      r.error(node, path, (m.isEmpty() ? "no matcher" : "has " + String.join(" and ", m.keySet()))
          + " (expected exactly one of spiffeId, trustDomain, spiffeIdPrefix)");
      return Optional.empty();
    }
    Map.Entry<String, Node> e = m.entrySet().iterator().next();
    String p = child(path, e.getKey());
    Node v = e.getValue();
    switch (e.getKey()) {
      case "spiffeId" -> {
        return r.checked(v, p, "a SPIFFE ID", PolicyValues::spiffeId).map(s -> {
          SpiffeId id = SpiffeId.parse(s);
          trustDomainRule.check(r, v, p, s, id.getTrustDomain(), true);
          return new PeerMatcher.Exact(id);
        });
      }
      case "trustDomain" -> {
        return r.checked(v, p, "a trust domain name", PolicyValues::trustDomain)
            .map(s -> new PeerMatcher.InTrustDomain(TrustDomain.parse(s)));
      }
      default -> {
        return r.checked(v, p, "a SPIFFE ID prefix", PolicyValues::idPrefix).map(s -> {
          PeerMatcher.IdPrefix prefix = new PeerMatcher.IdPrefix(s);
          trustDomainRule.check(r, v, p, s, prefix.trustDomain(), true);
          return prefix;
        });
      }
    }
  }

  private Optional<List<String>> methods(Node n, String path) {
    Optional<List<Node>> items = r.sequence(n, path, "a list of HTTP methods");
    if (items.isEmpty()) {
      return Optional.empty();
    }
    if (items.get().isEmpty()) {
      emptyList(n, path, "method", "methods");
      return Optional.empty();
    }
    List<String> methods = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    boolean ok = true;
    for (int i = 0; i < items.get().size(); i++) {
      Node item = items.get().get(i);
      Optional<String> method = r.checked(item, index(path, i), "an HTTP method", PolicyValues::method);
      if (method.isPresent() && !seen.add(method.get())) {
        r.error(item, index(path, i), PolicyValues.quote(method.get()) + " is listed twice");
        method = Optional.empty();
      }
      method.ifPresent(methods::add);
      ok &= method.isPresent();
    }
    return ok ? Optional.of(methods) : Optional.empty();
  }

  private Optional<PathMatcher> path(Node n, String path) {
    return r.string(n, path, "a path such as /api/ (prefix) or =/health (exact)").flatMap(s -> {
      PathMatcher.Kind kind = s.startsWith("=") ? PathMatcher.Kind.EXACT : PathMatcher.Kind.PREFIX;
      String value = kind == PathMatcher.Kind.EXACT ? s.substring(1) : s;
      Optional<String> problem = PolicyValues.pathValue(PathMatcher.Kind.EXACT, value).map(x ->
          PolicyValues.quote(s) + " is not a path (expected /<path>/ for a prefix or =/<path> for an"
              + " exact path, with no query, fragment or spaces)");
      if (problem.isEmpty() && kind == PathMatcher.Kind.PREFIX && !value.endsWith("/")) {
        problem = Optional.of(PolicyValues.quote(s) + " is neither a prefix nor an exact path (expected "
            + PolicyValues.quote(s + "/") + " for a prefix or " + PolicyValues.quote("=" + s)
            + " for an exact path)");
      }
      if (problem.isPresent()) {
        r.error(n, path, problem.get());
        return Optional.empty();
      }
      return Optional.of(new PathMatcher(kind, value));
    });
  }
}
