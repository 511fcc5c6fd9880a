/**
 * The authorization and sidecar-layout policy: an immutable model ({@link dev.rotor.policy.Policy}
 * and the records under it), its YAML parser ({@link dev.rotor.policy.PolicyParser}) and a pure
 * evaluator that says which rule decides a request ({@link dev.rotor.policy.PolicyExplainer}).
 *
 * <h2>Rule semantics</h2>
 *
 * <p>For one inbound listener, the rules are evaluated the way Envoy's RBAC filter and Istio's
 * AuthorizationPolicy evaluate them:
 *
 * <ol>
 *   <li>a request that matches any {@link dev.rotor.policy.Action#DENY deny} rule is denied;
 *   <li>otherwise it is allowed if it matches any {@link dev.rotor.policy.Action#ALLOW allow}
 *       rule;
 *   <li>otherwise it is denied (default deny).
 * </ol>
 *
 * <p>Within each action the file order is kept: it decides which rule {@code explain} reports and
 * the order of generated RBAC policies. An inbound section always has at least one allow rule
 * (fail closed: Rotor never opens a port to every caller), and a rule on a TCP listener never
 * carries methods or paths (they cannot be enforced there, and dropping them would widen the
 * permission).
 *
 * <p>Everything in this package is pure: no file I/O, no threads, no clocks.
 */
package dev.rotor.policy;
