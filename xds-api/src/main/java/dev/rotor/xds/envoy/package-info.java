/**
 * Envoy listeners and clusters from the policy: pure functions, sorted and deterministic output.
 *
 * <p>Entry points: {@link dev.rotor.xds.envoy.WorkloadResourcesBuilder#build} gives one workload's
 * {@link dev.rotor.xds.envoy.WorkloadResources} (LDS and CDS resources, each packed once);
 * {@link dev.rotor.xds.envoy.SdsSecretConfigs} is the only place secret references are built.
 *
 * <h2>What a workload gets</h2>
 *
 * <ul>
 *   <li>{@code inbound_<port>} on 0.0.0.0: mutual TLS (client certificate required, validated by
 *       the SPIFFE validator in the {@code ROOTCA}/{@code ALL} secret), then RBAC DENY (only when
 *       there are deny rules), RBAC ALLOW, and an inline catch-all route (HTTP) or a TCP proxy to
 *       {@code local_app}. Routes are inline rather than served over RDS: there is one route,
 *       it changes only with the listener (RBAC lives in the listener anyway), and inline config
 *       cannot be half-applied.
 *   <li>{@code local_app}: STATIC 127.0.0.1:appPort.
 *   <li>per upstream, {@code outbound_<name>}: a plain-text listener on 127.0.0.1:localPort and a
 *       mutual-TLS cluster (STRICT_DNS, or STATIC for an IP address) that accepts only the listed
 *       SPIFFE IDs.
 * </ul>
 *
 * <p>RBAC policies are named {@code rules[<index>]} after the policy file's rules, so Envoy's
 * logs, Rotor's {@code explain} and the file agree. Principals are {@code mtls_authenticated} URI
 * SAN matchers. A rule that cannot be enforced is an {@link
 * dev.rotor.xds.envoy.UntranslatablePolicyException}, never a wider permission; every emitted
 * resource is checked with {@link dev.rotor.xds.validate.ProtoConstraints}.
 */
package dev.rotor.xds.envoy;
