package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Answers "would this peer be let in, and why?" for one workload's inbound listener, with exactly
 * the semantics the generated Envoy RBAC filters enforce:
 *
 * <ol>
 *   <li>deny rules first, in file order: the first one the request matches denies it;
 *   <li>then allow rules, in file order: the first one the request matches allows it;
 *   <li>otherwise the request is denied (default deny; every inbound has at least one allow rule,
 *       so "no allow rules means allow everything" never arises).
 * </ol>
 *
 * <p>A request matches a rule when the peer's SPIFFE ID matches one of the rule's {@code from}
 * entries and, for HTTP rules that list them, its method is one of the rule's methods and its path
 * (without query string) meets one of the rule's paths.
 *
 * <p>When the method or path is not given, the answer is the one that holds for <em>every</em>
 * method and path (fail closed): a deny rule that restricts them is taken to apply, and an allow
 * rule that restricts them is taken not to; the reason then says which assumption decided.
 *
 * <p>A pure function: no I/O, no state.
 */
public final class PolicyExplainer {
  private PolicyExplainer() {}

  /**
   * The caller's SPIFFE ID as {@code rotor policy explain --from} takes it: exactly the IDs a
   * policy may name, in canonical form. java-spiffe's parser accepts {@code spiffe://EXAMPLE.org/x}
   * and lower-cases it, so explaining that ID used to say ALLOW where the generated exact matcher,
   * which compares strings, denies (issue 13, low).
   *
   * @throws IllegalArgumentException whose message is the problem as {@code rotor policy check}
   *     words it, e.g. {@code "spiffe://EXAMPLE.org/x" is not in canonical form (expected
   *     spiffe://example.org/x)}
   */
  public static SpiffeId callerId(String value) {
    requireNonNull(value, "value");
    Optional<String> problem = PolicyValues.spiffeId(value);
    if (problem.isPresent()) {
      throw new IllegalArgumentException(problem.get());
    }
    return SpiffeId.parse(value);
  }

  /**
   * Explains the decision for a request from {@code from} to workload {@code workloadName}.
   *
   * @param port the inbound port the request reaches; empty for the workload's inbound port
   * @param method the HTTP method, if known (ignored by tcp listeners, whose rules never restrict it)
   * @param path the HTTP request path, if known; a query string is ignored
   */
  public static Decision explain(Policy policy, String workloadName, SpiffeId from, OptionalInt port,
      Optional<String> method, Optional<String> path) {
    requireNonNull(policy, "policy");
    requireNonNull(workloadName, "workloadName");
    requireNonNull(from, "from");
    requireNonNull(port, "port");
    requireNonNull(method, "method");
    requireNonNull(path, "path");
    Optional<Workload> workload = policy.workload(workloadName);
    if (workload.isEmpty()) {
      return Decision.denied("no workload named " + workloadName);
    }
    Optional<Inbound> inbound = workload.get().inbound();
    if (inbound.isEmpty()) {
      return Decision.denied("workload " + workloadName + " has no inbound");
    }
    if (port.isPresent() && port.getAsInt() != inbound.get().port()) {
      return Decision.denied("workload " + workloadName + " has no inbound on port " + port.getAsInt());
    }
    Optional<String> urlPath = path.map(PolicyExplainer::withoutQuery);
    for (Rule r : inbound.get().denyRules()) {
      if (r.matchesPeer(from) && mayMatch(r, method, urlPath)) {
        return Decision.deniedBy(r, assumption(r, method, urlPath));
      }
    }
    boolean skippedForUnknown = false;
    for (Rule r : inbound.get().allowRules()) {
      if (r.matches(from, method, urlPath)) {
        return Decision.allowedBy(r, "");
      }
      skippedForUnknown |= r.matchesPeer(from) && mayMatch(r, method, urlPath);
    }
    return Decision.denied("no allow rule matches (default deny)"
        + (skippedForUnknown ? "; an allow rule that restricts the method or path might match once they are given" : ""));
  }

  /** Whether the rule matches when an absent method or path is taken to be any value. */
  private static boolean mayMatch(Rule r, Optional<String> method, Optional<String> path) {
    boolean methodOk = r.methods().isEmpty() || method.isEmpty() || r.methods().contains(method.get());
    boolean pathOk = r.paths().isEmpty() || path.isEmpty() || r.paths().stream().anyMatch(p -> p.matches(path.get()));
    return methodOk && pathOk;
  }

  /** The note on a deny that held only because the method or path was not given. */
  private static String assumption(Rule r, Optional<String> method, Optional<String> path) {
    boolean methodAssumed = !r.methods().isEmpty() && method.isEmpty();
    boolean pathAssumed = !r.paths().isEmpty() && path.isEmpty();
    if (!methodAssumed && !pathAssumed) {
      return "";
    }
    String missing = methodAssumed && pathAssumed ? "method and path" : methodAssumed ? "method" : "path";
    return "; " + missing + " not given, so this rule is assumed to apply";
  }

  private static String withoutQuery(String path) {
    int q = path.indexOf('?');
    int h = path.indexOf('#');
    int end = q < 0 ? h : h < 0 ? q : Math.min(q, h);
    return end < 0 ? path : path.substring(0, end);
  }
}
