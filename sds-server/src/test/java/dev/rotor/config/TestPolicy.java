package dev.rotor.config;

import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyException;
import dev.rotor.policy.PolicyParser;
import dev.rotor.xds.envoy.WorkloadResourcesBuilder;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo's two workloads as a policy file the suite can vary: a backend (inbound 8080 → app
 * 9090, HTTP, callers by SPIFFE ID; outbound {@code db}) and a frontend (outbound {@code backend}).
 * Immutable; each {@code with...} returns a changed copy. Rendered as YAML and parsed with the
 * real {@link PolicyParser}, so the suite serves exactly what a policy file would give.
 */
record TestPolicy(List<String> backendCallers, List<Outbound> backendOutbound, List<Outbound> frontendOutbound) {

  static final String TRUST_DOMAIN = "example.org";
  static final String BACKEND_ID = "spiffe://example.org/ns/demo/sa/backend";
  static final String FRONTEND_ID = "spiffe://example.org/ns/demo/sa/frontend";
  static final String OPS_ID = "spiffe://example.org/ns/ops/sa/admin";
  static final String DB_ID = "spiffe://example.org/ns/demo/sa/db";

  /** Listener and cluster names the builder gives these workloads. */
  static final String INBOUND = "inbound_8080";
  static final String LOCAL_APP = "local_app";

  /** One upstream of a workload: Envoy listens on 127.0.0.1:port and calls address over mTLS. */
  record Outbound(String name, int port, String address, String spiffeId) {
    /** The name of both its listener and its cluster. */
    String envoyName() {
      return "outbound_" + name;
    }
  }

  static final Outbound DB = new Outbound("db", 9002, "db.demo.svc.cluster.local:5432", DB_ID);
  static final Outbound CACHE = new Outbound("cache", 9003, "cache.demo.svc.cluster.local:6379",
      "spiffe://example.org/ns/demo/sa/cache");
  /** {@link #DB} renamed: same port, same upstream, new listener and cluster names. */
  static final Outbound DATABASE = new Outbound("database", DB.port(), DB.address(), DB.spiffeId());
  static final Outbound BACKEND = new Outbound("backend", 9001, "backend.demo.svc.cluster.local:8080", BACKEND_ID);

  TestPolicy {
    backendCallers = List.copyOf(backendCallers);
    backendOutbound = List.copyOf(backendOutbound);
    frontendOutbound = List.copyOf(frontendOutbound);
  }

  /** Backend admits the frontend and calls {@code db}; frontend calls the backend. */
  static TestPolicy demo() {
    return new TestPolicy(List.of(FRONTEND_ID), List.of(DB), List.of(BACKEND));
  }

  TestPolicy withBackendAlsoAllowing(String spiffeId) {
    List<String> callers = new ArrayList<>(backendCallers);
    callers.add(spiffeId);
    return new TestPolicy(callers, backendOutbound, frontendOutbound);
  }

  TestPolicy withBackendOutbound(Outbound o) {
    List<Outbound> out = new ArrayList<>(backendOutbound);
    out.add(o);
    return new TestPolicy(backendCallers, out, frontendOutbound);
  }

  TestPolicy withoutBackendOutbound(Outbound o) {
    List<Outbound> out = new ArrayList<>(backendOutbound);
    if (!out.remove(o)) {
      throw new IllegalArgumentException("backend has no outbound " + o.name());
    }
    return new TestPolicy(backendCallers, out, frontendOutbound);
  }

  TestPolicy withoutFrontendOutbound(Outbound o) {
    List<Outbound> out = new ArrayList<>(frontendOutbound);
    if (!out.remove(o)) {
      throw new IllegalArgumentException("frontend has no outbound " + o.name());
    }
    return new TestPolicy(backendCallers, backendOutbound, out);
  }

  TestPolicy withFrontendOutbound(Outbound o) {
    List<Outbound> out = new ArrayList<>(frontendOutbound);
    out.add(o);
    return new TestPolicy(backendCallers, backendOutbound, out);
  }

  String yaml() {
    StringBuilder y = new StringBuilder()
        .append("version: 1\n")
        .append("trustDomain: ").append(TRUST_DOMAIN).append('\n')
        .append("workloads:\n")
        .append("  - name: backend\n")
        .append("    match:\n")
        .append("      nodeIds: [backend]\n")
        .append("      spiffeIds: [").append(BACKEND_ID).append("]\n")
        .append("    inbound:\n")
        .append("      port: 8080\n")
        .append("      appPort: 9090\n")
        .append("      protocol: http\n")
        .append("      rules:\n")
        .append("        - action: allow\n")
        .append("          from:\n");
    for (String caller : backendCallers) {
      y.append("            - spiffeId: ").append(caller).append('\n');
    }
    outbound(y, backendOutbound);
    y.append("  - name: frontend\n")
        .append("    match:\n")
        .append("      nodeIds: [frontend]\n")
        .append("      spiffeIds: [").append(FRONTEND_ID).append("]\n");
    outbound(y, frontendOutbound);
    return y.toString();
  }

  private static void outbound(StringBuilder y, List<Outbound> out) {
    if (out.isEmpty()) {
      return;
    }
    y.append("    outbound:\n");
    for (Outbound o : out) {
      y.append("      - name: ").append(o.name()).append('\n')
          .append("        port: ").append(o.port()).append('\n')
          .append("        address: ").append(o.address()).append('\n')
          .append("        spiffeIds: [").append(o.spiffeId()).append("]\n");
    }
  }

  Policy parse() {
    try {
      return PolicyParser.parse("policy.yaml", yaml());
    } catch (PolicyException e) {
      throw new AssertionError("the test policy does not parse:\n" + e.getMessage() + "\n" + yaml(), e);
    }
  }

  /** Translated as {@code rotor serve} does: secrets referenced over ADS, SPIRE's names. */
  PolicyResources resources() {
    return PolicyResources.build(parse(), WorkloadResourcesBuilder.Options.defaults());
  }
}
