package dev.rotor.xds.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyParser;
import dev.rotor.policy.Workload;
import dev.rotor.xds.validate.ProtoConstraints;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The policies as files say them (the deployed demo, the parser's all-features fixture) build valid Envoy config. */
class ParsedPoliciesTest {

  private static final WorkloadResourcesBuilder.Options OPTIONS = WorkloadResourcesBuilder.Options.defaults();

  @Test
  void deployedDemoPolicy_buildsTheSameBytesAsTheModelFixture() throws Exception {
    Path file = Path.of("..", "deploy", "policy", "demo-policy.yaml");
    Policy parsed = PolicyParser.parse("demo-policy.yaml", Files.readString(file));
    Policy fixture = DemoPolicies.demo();
    for (String w : new String[] {"backend", "frontend"}) {
      // Descriptions differ (the file has one) but never reach Envoy: the bytes must not either.
      assertThat(DemoResourcesTest.bytes(build(parsed, parsed.workload(w).orElseThrow())))
          .isEqualTo(DemoResourcesTest.bytes(build(fixture, fixture.workload(w).orElseThrow())));
    }
  }

  @Test
  void parserFullFixture_everyWorkloadBuildsAndPassesEnvoysConstraints() throws Exception {
    Policy p = PolicyParser.parse("full.yaml", resource("policy/valid/full.yaml"));
    for (Workload w : p.workloads()) {
      WorkloadResources r = build(p, w);
      assertThat(r.listeners()).isNotEmpty();
      Stream.<Message>concat(r.listeners().stream(), r.clusters().stream())
          .forEach(m -> assertThat(ProtoConstraints.validate(m)).as(w.name()).isEmpty());
    }
  }

  private static WorkloadResources build(Policy p, Workload w) {
    return WorkloadResourcesBuilder.build(p, w, OPTIONS);
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = ParsedPoliciesTest.class.getClassLoader().getResourceAsStream(name)) {
      assertThat(in).as("test resource %s", name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
