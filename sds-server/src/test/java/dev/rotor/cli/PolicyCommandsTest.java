package dev.rotor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rotor policy check|explain} and {@code rotor config dump} on the demo policy and broken ones. */
class PolicyCommandsTest {

  private static final Path DEMO = Path.of("..", "deploy", "policy", "demo-policy.yaml");
  private static final String FRONTEND = "spiffe://example.org/ns/demo/sa/frontend";

  @TempDir Path dir;

  private record Result(int status, String out, String err) {}

  private static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = RotorMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(status, out.toString(), err.toString());
  }

  @Test
  void check_demoPolicy_isValid() {
    Result r = run("policy", "check", DEMO.toString());
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out()).contains("valid", "2 workloads");
  }

  @Test
  void check_invalidPolicy_printsEveryErrorWithFieldPath_exit1() throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "version: 1\nworkloads:\n  - name: Bad Name\n    match: {nodeIds: [x]}\n    colour: red\n");
    Result r = run("policy", "check", bad.toString());
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err()).contains(bad + ":", "workloads[0].name", "workloads[0].colour");
    assertThat(r.err().lines().filter(l -> l.startsWith(bad.toString())).count()).isGreaterThanOrEqualTo(3);
  }

  /** Issue 13, finding 9: this printed a StackOverflowError's stack trace. */
  @Test
  void check_deeplyNestedPolicy_printsOneError_notAStackTrace_exit1() throws Exception {
    Path deep = dir.resolve("deep.yaml");
    Files.writeString(deep, "version: 1\nworkloads: " + "[".repeat(3_000) + "]".repeat(3_000) + "\n");

    Result r = run("policy", "check", deep.toString());

    assertThat(r.status()).as(r.err()).isEqualTo(1);
    assertThat(r.err()).isEqualTo(deep + ":2: nested more than 64 levels deep (expected at most 64 levels of lists and"
        + " mappings; a policy needs fewer than 10)\n" + deep + ": 1 error\n");
  }

  @Test
  void check_missingFile_isBadInput_exit2() {
    Result r = run("policy", "check", dir.resolve("nope.yaml").toString());
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("no such file");
  }

  @Test
  void explain_frontendToBackend_isAllowedByTheRule() {
    Result r = run("policy", "explain", "--policy", DEMO.toString(), "--from", FRONTEND, "--to", "backend");
    assertThat(r.status()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).startsWith("ALLOW: allowed by rules[0]");
  }

  @Test
  void explain_otherCaller_isDeniedByDefault_exit1() {
    Result r = run("policy", "explain", "--policy", DEMO.toString(),
        "--from", "spiffe://example.org/ns/demo/sa/rogue", "--to", "backend", "--method", "GET", "--path", "/api/orders");
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.out()).startsWith("DENY:");
  }

  /**
   * Issue 13, low: java-spiffe lower-cases the trust domain, so this said ALLOW where the generated
   * exact matcher (a string compare in Envoy) denies. Refused, as `policy check` refuses it in a rule.
   */
  @Test
  void explain_nonCanonicalCaller_isRefusedAsPolicyCheckRefusesIt_exit2() {
    Result r = run("policy", "explain", "--policy", DEMO.toString(), "--from",
        "spiffe://EXAMPLE.org/ns/demo/sa/frontend", "--to", "backend");

    assertThat(r.status()).as(r.out() + r.err()).isEqualTo(2);
    assertThat(r.out()).doesNotContain("ALLOW");
    assertThat(r.err()).isEqualTo("rotor policy explain: --from: \"spiffe://EXAMPLE.org/ns/demo/sa/frontend\" is not in"
        + " canonical form (expected spiffe://example.org/ns/demo/sa/frontend)\n");
  }

  @Test
  void explain_unknownWorkload_namesTheFlag_exit2() {
    Result r = run("policy", "explain", "--policy", DEMO.toString(), "--from", FRONTEND, "--to", "nobody");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("--to: no workload named \"nobody\"");
  }

  @Test
  void configDump_backend_showsListenersClustersAndSecretNamesOnly() {
    Result r = run("config", "dump", "--policy", DEMO.toString(), "--node", "backend");
    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out()).contains("workload: backend", "listeners:", "clusters:", "local_app",
        FRONTEND, "secrets_referenced:", "- ROOTCA", "- default");
    assertThat(r.out()).doesNotContain("PRIVATE KEY", "inline_bytes");
  }

  @Test
  void configDump_unknownNode_namesTheFlag_exit2() {
    Result r = run("config", "dump", "--policy", DEMO.toString(), "--node", "nobody");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("--node: no workload");
  }
}
