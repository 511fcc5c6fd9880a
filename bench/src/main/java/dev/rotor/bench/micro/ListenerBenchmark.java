package dev.rotor.bench.micro;

import com.google.protobuf.Any;
import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyParser;
import dev.rotor.policy.Workload;
import dev.rotor.xds.envoy.WorkloadResources;
import dev.rotor.xds.envoy.WorkloadResourcesBuilder;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Building the demo backend's inbound listener (mTLS, RBAC from the policy) and cluster with
 * {@link WorkloadResourcesBuilder}, including its check against Envoy's proto constraints, and
 * encoding the listener.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ListenerBenchmark {
  static final String DEMO_POLICY = """
      version: 1
      trustDomain: example.org
      workloads:
        - name: backend
          match:
            nodeIds: [backend]
            spiffeIds: [spiffe://example.org/ns/demo/sa/backend]
          inbound:
            port: 8080
            appPort: 9090
            protocol: http
            rules:
              - action: allow
                from:
                  - spiffeId: spiffe://example.org/ns/demo/sa/frontend
        - name: frontend
          match:
            nodeIds: [frontend]
            spiffeIds: [spiffe://example.org/ns/demo/sa/frontend]
          outbound:
            - name: backend
              port: 9001
              address: backend.demo.svc.cluster.local:8080
              spiffeIds: [spiffe://example.org/ns/demo/sa/backend]
      """;

  private Policy policy;
  private Workload backend;
  private WorkloadResourcesBuilder.Options options;

  @Setup
  public void setUp() throws Exception {
    policy = PolicyParser.parse("demo-policy.yaml", DEMO_POLICY);
    backend = policy.workload("backend").orElseThrow();
    options = WorkloadResourcesBuilder.Options.defaults();
  }

  /** The backend's listener and cluster, built and validated. */
  @Benchmark
  public WorkloadResources backendResourcesBuild() {
    return WorkloadResourcesBuilder.build(policy, backend, options);
  }

  /** The same, and the listener encoded as it goes on the wire. */
  @Benchmark
  public byte[] backendListenerBuildAndEncode() {
    Listener l = WorkloadResourcesBuilder.build(policy, backend, options).listeners().get(0);
    return Any.pack(l).toByteArray();
  }
}
