package dev.rotor.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The parser's contract: valid fixtures give the expected model; each negative fixture under
 * {@code policy/invalid/}, named by its defect, gives exactly the listed errors (all of them, in
 * line order).
 */
class PolicyParserTest {

  static Stream<Arguments> invalidFixtures() {
    return Stream.of(
        Arguments.of("address-without-port.yaml", List.of(
            "policy.yaml:8: workloads[0].outbound[0].address: \"backend.demo.svc.cluster.local\" has no port (expected host:port of the upstream, e.g. backend.demo.svc.cluster.local:8080)")),
        Arguments.of("alias-bomb.yaml", List.of(
            "policy.yaml: too many aliases (expected at most 16 aliases of lists or mappings; a policy file needs none)")),
        Arguments.of("ambiguous-path.yaml", List.of(
            "policy.yaml:12: workloads[0].inbound.rules[0].paths[0]: \"/api\" is neither a prefix nor an exact path (expected \"/api/\" for a prefix or \"=/api\" for an exact path)",
            "policy.yaml:12: workloads[0].inbound.rules[0].paths[1]: \"=/x?y=1\" is not a path (expected /<path>/ for a prefix or =/<path> for an exact path, with no query, fragment or spaces)")),
        Arguments.of("app-port-equals-port.yaml", List.of(
            "policy.yaml:7: workloads[0].inbound.appPort: 8080 is already used by workloads[0].inbound.port (expected the inbound port, the app port and every outbound port of a workload to differ)")),
        Arguments.of("bad-action.yaml", List.of(
            "policy.yaml:10: workloads[0].inbound.rules[0].action: \"permit\" is not an action (expected allow or deny)")),
        Arguments.of("bad-protocol.yaml", List.of(
            "policy.yaml:8: workloads[0].inbound.protocol: \"grpc\" is not a protocol (expected http or tcp)")),
        Arguments.of("bad-spiffe-id.yaml", List.of(
            "policy.yaml:15: workloads[0].inbound.rules[1].from[0].spiffeId: \"spiffe:/x\" is not a SPIFFE ID: scheme is missing or invalid (expected spiffe://<trust-domain>/<path>)")),
        Arguments.of("bad-trust-domain.yaml", List.of(
            "policy.yaml:2: trustDomain: \"spiffe://example.org\" is not a trust domain name (expected a bare name such as example.org, without spiffe://)",
            "policy.yaml:13: workloads[0].inbound.rules[0].from[0].trustDomain: \"partner org\" is not a trust domain name: trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores (expected a name such as example.org)")),
        Arguments.of("bad-workload-name.yaml", List.of(
            "policy.yaml:3: workloads[0].name: \"Backend_1\" is not a valid name (expected [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters)")),
        Arguments.of("duplicate-key.yaml", List.of(
            "policy.yaml:5: workloads[0].name: duplicate key (first at line 3)")),
        Arguments.of("duplicate-node-id.yaml", List.of(
            "policy.yaml:6: workloads[1].match.nodeIds[1]: \"shared\" is already matched at workloads[0].match.nodeIds[0] (expected each node id to identify one workload)")),
        Arguments.of("duplicate-port.yaml", List.of(
            "policy.yaml:18: workloads[0].outbound[1].port: 8080 is already used by workloads[0].inbound.port (expected the inbound port, the app port and every outbound port of a workload to differ)")),
        Arguments.of("duplicate-spiffe-id.yaml", List.of(
            "policy.yaml:8: workloads[1].match.spiffeIds[0]: \"spiffe://example.org/ns/demo/sa/app\" is already matched at workloads[0].match.spiffeIds[0] (expected each SPIFFE ID to identify one workload)")),
        Arguments.of("duplicate-upstream-name.yaml", List.of(
            "policy.yaml:10: workloads[0].outbound[1].name: \"backend\" is already used by workloads[0].outbound[0].name (expected a unique upstream name within the workload)")),
        Arguments.of("duplicate-workload-name.yaml", List.of(
            "policy.yaml:5: workloads[1].name: \"backend\" is already used by workloads[0].name (expected a unique workload name)")),
        Arguments.of("empty-document.yaml", List.of(
            "policy.yaml: empty document (expected a mapping with keys version, trustDomain, maxConnectionDuration, workloads)")),
        Arguments.of("empty-from.yaml", List.of(
            "policy.yaml:11: workloads[0].inbound.rules[0].from: empty list (expected at least one peer: spiffeId, trustDomain or spiffeIdPrefix)")),
        Arguments.of("empty-match.yaml", List.of(
            "policy.yaml:4: workloads[0].match: no nodeIds or spiffeIds (expected at least one node id or SPIFFE ID that identifies the workload)")),
        Arguments.of("empty-rules.yaml", List.of(
            "policy.yaml:9: workloads[0].inbound.rules: no allow rule (expected: at least one allow rule; Rotor never opens a port to every caller)")),
        Arguments.of("id-outside-trust-domain.yaml", List.of(
            "policy.yaml:6: workloads[0].match.spiffeIds[0]: \"spiffe://exmaple.org/ns/demo/sa/backend\" is not in trust domain example.org (expected an ID in the file's trustDomain example.org)",
            "policy.yaml:14: workloads[0].inbound.rules[0].from[0].spiffeId: \"spiffe://partner.org/sa/client\" is not in trust domain example.org (expected an ID in the file's trustDomain example.org; to admit another trust domain, add a from entry \"trustDomain: partner.org\")")),
        Arguments.of("lower-case-method.yaml", List.of(
            "policy.yaml:12: workloads[0].inbound.rules[0].methods[0]: \"get\" is not an HTTP method (expected an upper-case token such as GET or POST)",
            "policy.yaml:12: workloads[0].inbound.rules[0].methods[2]: \"GET\" is listed twice")),
        Arguments.of("many-errors.yaml", List.of(
            "policy.yaml:9: workloads[0].inbound.appPort: 99999 is out of range (expected 1..65535)",
            "policy.yaml:14: workloads[0].inbound.rules[0].from[0].spiffeId: \"spiffe://example.org/ns/demo/sa/frontend/\" is not a SPIFFE ID: path cannot have a trailing slash (expected spiffe://<trust-domain>/<path>)",
            "policy.yaml:16: workloads[1].match.nodeIds[0]: \"backend\" is already matched at workloads[0].match.nodeIds[0] (expected each node id to identify one workload)",
            "policy.yaml:18: workloads[1].outbound[0].address: missing (expected host:port of the upstream)",
            "policy.yaml:20: workloads[1].outbound[0].adress: unknown key (expected one of: name, port, address, spiffeIds)")),
        Arguments.of("methods-on-tcp.yaml", List.of(
            "policy.yaml:12: workloads[0].inbound.rules[0].methods: not allowed with protocol tcp (expected protocol http; a tcp listener cannot enforce methods or paths, and Rotor never drops a condition it cannot enforce)")),
        Arguments.of("missing-version.yaml", List.of(
            "policy.yaml:1: version: missing (expected 1)")),
        Arguments.of("no-allow-rule.yaml", List.of(
            "policy.yaml:10: workloads[0].inbound.rules: no allow rule (expected: at least one allow rule; Rotor never opens a port to every caller)")),
        Arguments.of("no-rules.yaml", List.of(
            "policy.yaml:6: workloads[0].inbound.rules: no allow rule (expected: at least one allow rule; Rotor never opens a port to every caller)")),
        Arguments.of("no-workloads.yaml", List.of(
            "policy.yaml:2: workloads: empty list (expected at least one workload)")),
        Arguments.of("not-a-mapping.yaml", List.of(
            "policy.yaml:1: got a list (expected a mapping with keys version, trustDomain, maxConnectionDuration, workloads)")),
        Arguments.of("paths-on-tcp.yaml", List.of(
            "policy.yaml:12: workloads[0].inbound.rules[0].paths: not allowed with protocol tcp (expected protocol http; a tcp listener cannot enforce methods or paths, and Rotor never drops a condition it cannot enforce)")),
        Arguments.of("port-not-integer.yaml", List.of(
            "policy.yaml:6: workloads[0].inbound.port: got a string \"8080\" (expected a port number 1..65535)")),
        Arguments.of("port-out-of-range.yaml", List.of(
            "policy.yaml:6: workloads[0].inbound.port: 70000 is out of range (expected 1..65535)",
            "policy.yaml:7: workloads[0].inbound.appPort: 0 is out of range (expected 1..65535)")),
        Arguments.of("prefix-not-spiffe.yaml", List.of(
            "policy.yaml:12: workloads[0].inbound.rules[0].from[0].spiffeIdPrefix: \"https://example.org/ns/demo/\" is not a SPIFFE ID prefix (expected spiffe://<trust-domain>/<path>/, ending in '/')")),
        Arguments.of("prefix-scheme-only.yaml", List.of( // found by PolicyFuzzTest: was a StringIndexOutOfBoundsException
            "policy.yaml:12: workloads[0].inbound.rules[0].from[0].spiffeIdPrefix: \"spiffe://\" has no trust domain (expected spiffe://<trust-domain>/<path>/, ending in '/')")),
        Arguments.of("prefix-without-trailing-slash.yaml", List.of(
            "policy.yaml:12: workloads[0].inbound.rules[0].from[0].spiffeIdPrefix: \"spiffe://example.org/ns/demo\" does not end with '/' (expected spiffe://<trust-domain>/<path>/, ending in '/')")),
        Arguments.of("trust-domain-id-as-workload-id.yaml", List.of(
            "policy.yaml:5: workloads[0].match.spiffeIds[0]: \"spiffe://example.org\" is a trust domain ID, not a workload ID (expected spiffe://<trust-domain>/<path>)")),
        Arguments.of("two-matchers-in-one-from-entry.yaml", List.of(
            "policy.yaml:12: workloads[0].inbound.rules[0].from[0]: has spiffeId and trustDomain (expected exactly one of spiffeId, trustDomain, spiffeIdPrefix)")),
        Arguments.of("unknown-key.yaml", List.of(
            "policy.yaml:12: workloads[0].inbound.rules[0].descripton: unknown key (expected one of: action, from, methods, paths, description)")),
        Arguments.of("unsupported-version.yaml", List.of(
            "policy.yaml:1: version: 2 is not supported (expected 1)")),
        Arguments.of("upstream-without-spiffe-ids.yaml", List.of(
            "policy.yaml:9: workloads[0].outbound[0].spiffeIds: empty list (expected at least one SPIFFE ID the upstream must present)")),
        Arguments.of("wrong-type.yaml", List.of(
            "policy.yaml:3: workloads: got a mapping (expected a list of workloads)")),
        Arguments.of("yaml-syntax-error.yaml", List.of(
            "policy.yaml:4: invalid YAML: expected ',' or ']', but got } (while parsing a flow sequence at line 4)")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidFixtures")
  void invalidFixture_isRejectedWithExactlyTheseErrors(String fixture, List<String> expected) {
    PolicyException e = catchThrowableOfType(PolicyException.class,
        () -> PolicyParser.parse("policy.yaml", resource("policy/invalid/" + fixture)));

    assertThat(e).as("%s must be rejected", fixture).isNotNull();
    assertThat(e.errors()).map(PolicyError::toString).containsExactlyElementsOf(expected);
    assertThat(e.getMessage()).isEqualTo(String.join("\n", expected));
  }

  @Test
  void everyInvalidFixtureHasExpectedErrors() throws IOException, URISyntaxException {
    Path dir = Path.of(PolicyParserTest.class.getClassLoader().getResource("policy/invalid").toURI());
    List<String> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.map(p -> p.getFileName().toString()).sorted().toList();
    }
    List<String> covered = invalidFixtures().map(a -> (String) a.get()[0]).sorted().toList();
    assertThat(files).containsExactlyElementsOf(covered);
  }

  @Test
  void demoPolicy_parses() throws Exception {
    Policy p = PolicyParser.parse("demo-policy.yaml", Files.readString(demoPolicyPath()));

    assertThat(p.version()).isEqualTo(1);
    assertThat(p.trustDomain()).contains(TrustDomain.parse("example.org"));
    assertThat(p.workloads()).map(Workload::name).containsExactly("backend", "frontend");
    assertThat(p.contentVersion()).matches("[0-9a-f]{16}");

    Workload backend = p.workloadForNode("backend").orElseThrow();
    assertThat(backend.match().spiffeIds()).containsExactly(id("spiffe://example.org/ns/demo/sa/backend"));
    Inbound in = backend.inbound().orElseThrow();
    assertThat(in.port()).isEqualTo(8080);
    assertThat(in.appPort()).isEqualTo(9090);
    assertThat(in.protocol()).isEqualTo(Protocol.HTTP);
    assertThat(in.rules()).containsExactly(new Rule(0, Action.ALLOW,
        List.of(new PeerMatcher.Exact(id("spiffe://example.org/ns/demo/sa/frontend"))), List.of(), List.of(),
        "only the demo frontend may call the backend"));
    assertThat(backend.outbound()).isEmpty();

    Workload frontend = p.workloadForSpiffeId(id("spiffe://example.org/ns/demo/sa/frontend")).orElseThrow();
    assertThat(frontend.name()).isEqualTo("frontend");
    assertThat(frontend.inbound()).isEmpty();
    assertThat(frontend.outbound()).containsExactly(new Upstream("backend", 9001,
        "backend.demo.svc.cluster.local", 8080, List.of(id("spiffe://example.org/ns/demo/sa/backend"))));
  }

  @Test
  void demoPolicy_allowsOnlyTheFrontendIntoTheBackend() throws Exception {
    Policy p = PolicyParser.parse("demo-policy.yaml", Files.readString(demoPolicyPath()));

    assertThat(explain(p, "spiffe://example.org/ns/demo/sa/frontend").allowed()).isTrue();
    assertThat(explain(p, "spiffe://example.org/ns/demo/sa/other").allowed()).isFalse();
    assertThat(explain(p, "spiffe://partner.org/ns/demo/sa/frontend").allowed()).isFalse();
  }

  @Test
  void docs_schemaExampleParses_andTheDemoPolicyIsQuotedVerbatim() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "policy.md"));
    List<String> yamlBlocks = Stream.of(doc.split("```yaml\n", -1)).skip(1)
        .map(b -> b.substring(0, b.indexOf("```"))).toList();

    assertThat(yamlBlocks).hasSizeGreaterThanOrEqualTo(2);
    assertThat(PolicyParser.parse("docs/policy.md", yamlBlocks.get(0)).workloads()).hasSize(1);
    assertThat(yamlBlocks.get(yamlBlocks.size() - 1)).isEqualTo(Files.readString(demoPolicyPath()));
  }

  @Test
  void fullFixture_givesTheWholeModel() throws Exception {
    Policy p = PolicyParser.parse("full.yaml", resource("policy/valid/full.yaml"));

    Workload backend = p.workload("backend").orElseThrow();
    assertThat(backend.match().nodeIds()).containsExactly("backend", "backend-canary");
    assertThat(p.workloadForNode("backend-canary")).contains(backend);
    List<Rule> rules = backend.inbound().orElseThrow().rules();
    assertThat(rules).hasSize(3);
    assertThat(rules.get(0).from()).containsExactly(
        new PeerMatcher.Exact(id("spiffe://example.org/ns/demo/sa/frontend")),
        new PeerMatcher.InTrustDomain(TrustDomain.parse("partner.org")),
        new PeerMatcher.IdPrefix("spiffe://example.org/ns/ops/"));
    assertThat(rules.get(0).methods()).containsExactly("GET", "POST");
    assertThat(rules.get(0).paths()).containsExactly(PathMatcher.prefix("/api/"), PathMatcher.exact("/health"));
    assertThat(rules.get(0).description()).isEqualTo("frontend, partners and ops may read and write the API");
    assertThat(rules.get(1).action()).isEqualTo(Action.DENY);
    assertThat(rules.get(1).index()).isEqualTo(1);
    assertThat(rules.get(2).description()).isEmpty();
    assertThat(backend.outbound()).containsExactly(
        new Upstream("db", 9002, "postgres.demo.svc.cluster.local", 5432,
            List.of(id("spiffe://example.org/ns/demo/sa/postgres"))),
        new Upstream("cache", 9003, "::1", 6379, List.of(
            id("spiffe://example.org/ns/demo/sa/cache"), id("spiffe://example.org/ns/demo/sa/cache-replica"))));
    assertThat(backend.outbound().get(1).address()).isEqualTo("[::1]:6379");

    Workload postgres = p.workloadForSpiffeId(id("spiffe://example.org/ns/demo/sa/postgres")).orElseThrow();
    assertThat(postgres.match().nodeIds()).isEmpty();
    assertThat(postgres.inbound().orElseThrow().protocol()).isEqualTo(Protocol.TCP);
    assertThat(p.workloadForNode("nobody")).isEmpty();
    assertThat(p.workload("nobody")).isEmpty();
  }

  @Test
  void contentVersion_ignoresCommentsWhitespaceKeyOrderAndStyle() throws Exception {
    String block = """
        version: 1
        workloads:
          - name: backend
            match:
              nodeIds: [backend]
            inbound:
              port: 8080
              appPort: 9090
              protocol: http
              rules:
                - action: allow
                  from:
                    - spiffeId: spiffe://example.org/ns/demo/sa/frontend
        """;
    String restyled = """
        # the same policy, written differently
        workloads:
        - match: {nodeIds: ["backend"]}
          name: 'backend'
          inbound: {protocol: http, appPort: 9090, port: 8080,
                    rules: [{from: [{spiffeId: "spiffe://example.org/ns/demo/sa/frontend"}], action: allow}]}
        version: 1
        """;

    assertThat(PolicyParser.parse("a.yaml", restyled).contentVersion())
        .isEqualTo(PolicyParser.parse("b.yaml", block).contentVersion());
  }

  @Test
  void contentVersion_changesWithMeaning() throws Exception {
    String base = resource("policy/valid/full.yaml");
    String v0 = PolicyParser.parse("p.yaml", base).contentVersion();

    assertThat(PolicyParser.parse("p.yaml", base.replace("methods: [POST]", "methods: [PUT]")).contentVersion())
        .isNotEqualTo(v0);
    assertThat(PolicyParser.parse("p.yaml", base.replace("port: 9002", "port: 9004")).contentVersion())
        .isNotEqualTo(v0);
    assertThat(PolicyParser.parse("p.yaml", base.replace("=/metrics", "/metrics/")).contentVersion())
        .isNotEqualTo(v0);
  }

  @Test
  void contentVersion_isDeterministicAcrossParses() throws Exception {
    String text = resource("policy/valid/full.yaml");

    assertThat(PolicyParser.parse("x.yaml", text)).isEqualTo(PolicyParser.parse("y.yaml", text));
  }

  @Test
  void oversizedFile_isRefusedBeforeParsing() {
    String big = "version: 1\n# " + "x".repeat(PolicyParser.MAX_CODE_POINTS) + "\n";

    assertThatThrownBy(() -> PolicyParser.parse("policy.yaml", big))
        .isInstanceOf(PolicyException.class)
        .hasMessage("policy.yaml: file too large (expected at most 1048576 code points)");
  }

  /**
   * Issue 13, finding 9: 3,000 nested lists (6 KB) threw StackOverflowError out of the parser, which
   * killed rotor serve's policy watcher. Every nesting style is refused with an error instead; the
   * deepest one also runs on a thread with a small stack, where the finding's 3,000 levels overflowed.
   */
  @ParameterizedTest
  @MethodSource("deeplyNested")
  void deeplyNestedDocument_isRefusedWithAnError_notAStackOverflow(String style, String text) throws Exception {
    CompletableFuture<Throwable> thrown = new CompletableFuture<>();
    Thread t = new Thread(null, () -> {
      try {
        PolicyParser.parse("policy.yaml", text);
        thrown.complete(null);
      } catch (Throwable e) {
        thrown.complete(e);
      }
    }, "small-stack-parse", 256 * 1024);
    t.start();

    assertThat(thrown.get(30, TimeUnit.SECONDS)).as(style)
        .isInstanceOf(PolicyException.class)
        .hasMessageStartingWith("policy.yaml:")
        .hasMessageContaining("nested more than " + PolicyParser.MAX_NESTING_DEPTH
            + " levels deep (expected at most " + PolicyParser.MAX_NESTING_DEPTH + " levels of lists and mappings;"
            + " a policy needs fewer than 10)");
  }

  static Stream<Arguments> deeplyNested() {
    int levels = 3_000;
    StringBuilder block = new StringBuilder("version: 1\nworkloads:\n");
    for (int i = 0; i < 200; i++) {
      block.append(" ".repeat(i)).append("-\n");
    }
    return Stream.of(
        Arguments.of("flow lists", "version: 1\nworkloads: " + "[".repeat(levels) + "]".repeat(levels) + "\n"),
        Arguments.of("flow mappings", "version: 1\nworkloads: " + "{a: ".repeat(levels) + "}".repeat(levels) + "\n"),
        Arguments.of("block lists on one line", "version: 1\nworkloads: \n" + "- ".repeat(levels) + "x\n"),
        Arguments.of("block lists, one per line", block.toString()),
        Arguments.of("100,000 levels", "[".repeat(100_000) + "]".repeat(100_000)));
  }

  @Test
  void nestingAtTheLimit_isNotRefusedForItsDepth() {
    int levels = PolicyParser.MAX_NESTING_DEPTH - 1; // plus the top-level mapping
    String text = "version: 1\nworkloads: " + "[".repeat(levels) + "]".repeat(levels) + "\n";

    assertThatThrownBy(() -> PolicyParser.parse("policy.yaml", text))
        .isInstanceOf(PolicyException.class)
        .hasMessageNotContaining("nested more than");
  }

  /**
   * Issue 13, low: errors echoed the file's text raw, so a Cyrillic letter passed for a Latin one
   * and a right-to-left override reordered the line on the terminal. Both are escaped now, and so is
   * a key with a control character.
   */
  @Test
  void errors_escapeLookAlikeLettersDirectionOverridesAndControlCharacters() {
    String text = "version: 1\ntrustDomain: ex\u0430mple.org\nworkloads:\n  - name: web\u202egpj.exe\n"
        + "    match: {nodeIds: [web]}\n    \"col\\u001b[31mour\": red\n";

    PolicyException e = catchThrowableOfType(() -> PolicyParser.parse("policy.yaml", text), PolicyException.class);

    assertThat(e.errors()).map(PolicyError::toString).containsExactly(
        "policy.yaml:2: trustDomain: \"ex\\u0430mple.org\" is not a trust domain name: trust domain characters are"
            + " limited to lowercase letters, numbers, dots, dashes, and underscores (expected a name such as example.org)",
        "policy.yaml:4: workloads[0].name: \"web\\u202egpj.exe\" is not a valid name (expected"
            + " [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters)",
        "policy.yaml:6: workloads[0].col\\u001b[31mour: unknown key (expected one of: name, match, inbound, outbound)");
    assertThat(e.errors()).allSatisfy(err -> assertThat(err.toString()).matches("[\\x20-\\x7e]*"));
  }

  @Test
  void policyError_withoutLine_omitsIt() {
    assertThat(new PolicyError("p.yaml", "workloads", "empty list").toString())
        .isEqualTo("p.yaml: workloads: empty list");
    assertThat(new PolicyError("p.yaml", "", "empty document", OptionalInt.of(3)).toString())
        .isEqualTo("p.yaml:3: empty document");
  }

  private static Decision explain(Policy p, String from) {
    return PolicyExplainer.explain(p, "backend", id(from), OptionalInt.empty(), Optional.of("GET"), Optional.of("/"));
  }

  static SpiffeId id(String s) {
    return SpiffeId.parse(s);
  }

  /** deploy/policy/demo-policy.yaml, from the repository root (tests run in xds-api/). */
  static Path demoPolicyPath() {
    Path p = Path.of("..", "deploy", "policy", "demo-policy.yaml");
    assertThat(p).as("demo policy at %s", p.toAbsolutePath()).exists();
    return p;
  }

  static String resource(String name) {
    try (InputStream in = PolicyParserTest.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("no test resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @org.junit.jupiter.api.Test
  void malformedTag_isAnInvalidYamlError_notAnEscapedIllegalArgumentException() {
    // Found by PolicyFuzzTest: snakeyaml-engine throws IllegalArgumentException for this tag.
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PolicyParser.parse("policy.yaml", "!%e"))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("invalid YAML");
  }
}
