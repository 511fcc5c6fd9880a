package dev.rotor.policy;

import static dev.rotor.policy.NodeReader.child;
import static dev.rotor.policy.NodeReader.index;
import static java.util.Objects.requireNonNull;

import com.google.common.net.HostAndPort;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.composer.Composer;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.parser.ParserImpl;
import org.snakeyaml.engine.v2.scanner.StreamReader;

/**
 * Parses a policy file (schema in {@code docs/policy.md}) into a {@link Policy}, or reports every
 * problem in it at once: {@code rotor policy check} should show them all in one run, not one per
 * edit.
 *
 * <p>The file is read with snakeyaml-engine's node API ({@link Composer}), so every value keeps its
 * line, and with limits that make hostile input cheap to refuse: at most {@value #MAX_CODE_POINTS}
 * code points, {@value #MAX_ALIASES} aliases of collections (no "billion laughs") and {@value
 * #MAX_NESTING_DEPTH} levels of nesting (no stack overflow in the recursive composer). Duplicate
 * keys, unknown keys and values of the wrong type are errors, never ignored.
 *
 * <p>Pure: no file I/O; the caller reads the file and passes its name for the messages.
 */
public final class PolicyParser {

  /** The largest policy text accepted, in Unicode code points (1 MiB of ASCII). */
  public static final int MAX_CODE_POINTS = 1 << 20;
  /** Aliases of lists or mappings allowed in one file; a policy has no real use for more. */
  public static final int MAX_ALIASES = 16;
  /**
   * Levels of lists and mappings, the top-level mapping included; a policy uses at most eight
   * ({@code workloads[].inbound.rules[].from[]}). The YAML composer recurses per level (finding 9).
   */
  public static final int MAX_NESTING_DEPTH = 64;

  static final List<String> TOP_KEYS = List.of("version", "trustDomain", "maxConnectionDuration", "workloads");
  static final List<String> WORKLOAD_KEYS = List.of("name", "match", "inbound", "outbound");
  static final List<String> MATCH_KEYS = List.of("nodeIds", "spiffeIds");
  static final List<String> UPSTREAM_KEYS = List.of("name", "port", "address", "spiffeIds");
  private static final String NAME_EXPECTED = "a name matching " + PolicyValues.NAME_PATTERN;

  private final NodeReader r;
  private TrustDomainRule trustDomainRule = new TrustDomainRule(Optional.empty());
  /** First path at which each workload name, node id and workload SPIFFE ID was seen. */
  private final Map<String, String> workloadNames = new HashMap<>();
  private final Map<String, String> nodeIdOwners = new HashMap<>();
  private final Map<SpiffeId, String> spiffeIdOwners = new HashMap<>();

  private PolicyParser(String fileName) {
    this.r = new NodeReader(fileName);
  }

  /**
   * Parses {@code yamlText}.
   *
   * @param fileName used only in error messages
   * @throws PolicyException with every problem found, each naming the file, line, field path, bad
   *     value and what was expected
   */
  public static Policy parse(String fileName, String yamlText) throws PolicyException {
    requireNonNull(fileName, "fileName");
    requireNonNull(yamlText, "yamlText");
    return new PolicyParser(fileName).document(fileName, yamlText);
  }

  private Policy document(String fileName, String yamlText) throws PolicyException {
    Optional<Node> root = compose(fileName, yamlText);
    Optional<Policy> policy = root.flatMap(this::root);
    if (r.errorCount() > 0) {
      throw new PolicyException(r.errors());
    }
    return policy.orElseThrow(() -> new AssertionError("no policy and no error"));
  }

  private Optional<Node> compose(String fileName, String yamlText) {
    LoadSettings settings = LoadSettings.builder()
        .setLabel(fileName)
        .setAllowDuplicateKeys(false)
        .setAllowRecursiveKeys(false)
        .setMaxAliasesForCollections(MAX_ALIASES)
        .setCodePointLimit(MAX_CODE_POINTS)
        .build();
    // Checked here, before any parsing, as well as by snakeyaml-engine: its own limit did not trip
    // for a document held in one String that was over the limit only through a long comment.
    if (yamlText.length() > MAX_CODE_POINTS && yamlText.codePointCount(0, yamlText.length()) > MAX_CODE_POINTS) {
      r.errorAt(Optional.empty(), "file too large (expected at most " + MAX_CODE_POINTS + " code points)");
      return Optional.empty();
    }
    try {
      // What lowlevel.Compose.composeString does, with the depth limit between parser and composer.
      Optional<Node> root = new Composer(settings, new DepthLimitedParser(
          new ParserImpl(settings, new StreamReader(settings, yamlText)), MAX_NESTING_DEPTH)).getSingleNode();
      if (root.isEmpty()) {
        r.error(null, "", "empty document (expected a mapping with keys " + String.join(", ", TOP_KEYS) + ")");
      }
      return root;
    } catch (DepthLimitedParser.TooDeep e) {
      r.errorAt(e.line().isPresent() ? Optional.of(e.line().getAsInt()) : Optional.empty(), "nested more than "
          + MAX_NESTING_DEPTH + " levels deep (expected at most " + MAX_NESTING_DEPTH
          + " levels of lists and mappings; a policy needs fewer than 10)");
    } catch (MarkedYamlEngineException e) {
      String context = e.getContext() == null || e.getContext().isBlank() ? ""
          : " (" + e.getContext() + e.getContextMark().map(m -> " at line " + (m.getLine() + 1)).orElse("") + ")";
      r.errorAt(e.getProblemMark().map(m -> m.getLine() + 1), "invalid YAML: " + e.getProblem() + context);
    } catch (YamlEngineException e) {
      // The limits (size, aliases) are reported without a position.
      String message = String.valueOf(e.getMessage());
      if (message.contains("aliases")) {
        r.errorAt(Optional.empty(), "too many aliases (expected at most " + MAX_ALIASES
            + " aliases of lists or mappings; a policy file needs none)");
      } else if (message.contains("code points")) {
        r.errorAt(Optional.empty(), "file too large (expected at most " + MAX_CODE_POINTS + " code points)");
      } else {
        r.errorAt(Optional.empty(), "invalid YAML: " + message);
      }
    } catch (IllegalArgumentException e) {
      // snakeyaml-engine rejects some malformed input (e.g. a tag such as "!%e") with a plain
      // IllegalArgumentException instead of a YamlEngineException (found by PolicyFuzzTest).
      r.errorAt(Optional.empty(), "invalid YAML: " + e.getMessage());
    }
    return Optional.empty();
  }

  private Optional<Policy> root(Node node) {
    Optional<Map<String, Node>> mapping = r.mapping(node, "", TOP_KEYS);
    if (mapping.isEmpty()) {
      return Optional.empty();
    }
    Map<String, Node> m = mapping.get();
    OptionalInt version = OptionalInt.empty();
    Optional<Node> versionNode = r.required(m, "version", node, "", "1");
    if (versionNode.isPresent()) {
      version = r.integer(versionNode.get(), "version", "1");
      if (version.isPresent() && version.getAsInt() != Policy.CURRENT_VERSION) {
        r.error(versionNode.get(), "version", version.getAsInt() + " is not supported (expected 1)");
      }
    }
    Optional<TrustDomain> trustDomain = Optional.empty();
    if (m.containsKey("trustDomain")) {
      trustDomain = r.checked(m.get("trustDomain"), "trustDomain", "a trust domain name", PolicyValues::trustDomain)
          .map(TrustDomain::parse);
    }
    trustDomainRule = new TrustDomainRule(trustDomain);
    Optional<Duration> maxConnectionDuration = Optional.of(Policy.DEFAULT_MAX_CONNECTION_DURATION);
    if (m.containsKey("maxConnectionDuration")) {
      maxConnectionDuration = r.checked(m.get("maxConnectionDuration"), "maxConnectionDuration", "a duration such as 30s",
              PolicyValues::maxConnectionDuration)
          .flatMap(PolicyValues::parseDuration);
    }
    Optional<List<Workload>> workloads = r.required(m, "workloads", node, "", "a list of workloads")
        .flatMap(n -> workloads(n, "workloads"));
    if (r.errorCount() > 0) {
      return Optional.empty();
    }
    try {
      return Optional.of(Policy.of(version.getAsInt(), trustDomain, workloads.get(), maxConnectionDuration.get()));
    } catch (IllegalArgumentException e) {
      // The checks above mirror the model's invariants; reaching this means they drifted apart.
      r.error(node, "", e.getMessage());
      return Optional.empty();
    }
  }

  private Optional<List<Workload>> workloads(Node n, String path) {
    Optional<List<Workload>> list = r.list(n, path, "a list of workloads", this::workload);
    if (list.isPresent() && list.get().isEmpty()) {
      r.error(n, path, "empty list (expected at least one workload)");
      return Optional.empty();
    }
    return list;
  }

  private Optional<Workload> workload(Node node, String path) {
    int before = r.errorCount();
    Optional<Map<String, Node>> mapping = r.mapping(node, path, WORKLOAD_KEYS);
    if (mapping.isEmpty()) {
      return Optional.empty();
    }
    Map<String, Node> m = mapping.get();
    Optional<String> name = r.required(m, "name", node, path, NAME_EXPECTED)
        .flatMap(n -> unique(n, child(path, "name"), workloadNames, "workload name"));
    Optional<WorkloadMatch> match = r.required(m, "match", node, path, "nodeIds and/or spiffeIds")
        .flatMap(n -> match(n, child(path, "match")));
    PortClaims ports = new PortClaims(r);
    Optional<Inbound> inbound = Optional.empty();
    if (m.containsKey("inbound")) {
      inbound = new InboundReader(r, trustDomainRule, ports).read(m.get("inbound"), child(path, "inbound"));
    }
    Optional<List<Upstream>> outbound = Optional.of(List.of());
    if (m.containsKey("outbound")) {
      Map<String, String> upstreamNames = new HashMap<>();
      outbound = r.list(m.get("outbound"), child(path, "outbound"), "a list of upstreams",
          (n, p) -> upstream(n, p, upstreamNames, ports));
    }
    if (r.errorCount() > before) {
      return Optional.empty();
    }
    return Optional.of(new Workload(name.get(), match.get(), inbound, outbound.get()));
  }

  /** A name that must be unique within {@code seen} (which maps names to their first path). */
  private Optional<String> unique(Node n, String path, Map<String, String> seen, String what) {
    return r.checked(n, path, NAME_EXPECTED, PolicyValues::name).flatMap(name -> {
      String first = seen.putIfAbsent(name, path);
      if (first != null) {
        r.error(n, path, PolicyValues.quote(name) + " is already used by " + first + " (expected a unique " + what + ")");
        return Optional.empty();
      }
      return Optional.of(name);
    });
  }

  private Optional<WorkloadMatch> match(Node node, String path) {
    int before = r.errorCount();
    Optional<Map<String, Node>> mapping = r.mapping(node, path, MATCH_KEYS);
    if (mapping.isEmpty()) {
      return Optional.empty();
    }
    Map<String, Node> m = mapping.get();
    Set<String> nodeIds = new HashSet<>();
    Set<SpiffeId> ids = new HashSet<>();
    if (m.containsKey("nodeIds")) {
      r.list(m.get("nodeIds"), child(path, "nodeIds"), "a list of Envoy node ids", (n, p) ->
          r.checked(n, p, "an Envoy node id", PolicyValues::nodeId)
              .flatMap(id -> owned(n, p, id, id, nodeIdOwners, "node id")))
          .ifPresent(nodeIds::addAll);
    }
    if (m.containsKey("spiffeIds")) {
      r.list(m.get("spiffeIds"), child(path, "spiffeIds"), "a list of SPIFFE IDs", (n, p) ->
          r.checked(n, p, "a SPIFFE ID", PolicyValues::spiffeId).flatMap(s -> {
            SpiffeId id = SpiffeId.parse(s);
            trustDomainRule.check(r, n, p, s, id.getTrustDomain(), false);
            return owned(n, p, id, s, spiffeIdOwners, "SPIFFE ID");
          }))
          .ifPresent(ids::addAll);
    }
    if (r.errorCount() > before) {
      return Optional.empty();
    }
    if (nodeIds.isEmpty() && ids.isEmpty()) {
      r.error(node, path, "no nodeIds or spiffeIds (expected at least one node id or SPIFFE ID"
          + " that identifies the workload)");
      return Optional.empty();
    }
    return Optional.of(new WorkloadMatch(nodeIds, ids));
  }

  /** Claims {@code key} at {@code path}; a second claim, in any workload, is an error. */
  private <K> Optional<K> owned(Node n, String path, K key, String shown, Map<K, String> owners, String what) {
    String first = owners.putIfAbsent(key, path);
    if (first != null) {
      r.error(n, path, PolicyValues.quote(shown) + " is already matched at " + first
          + " (expected each " + what + " to identify one workload)");
      return Optional.empty();
    }
    return Optional.of(key);
  }

  private Optional<Upstream> upstream(Node node, String path, Map<String, String> names, PortClaims ports) {
    int before = r.errorCount();
    Optional<Map<String, Node>> mapping = r.mapping(node, path, UPSTREAM_KEYS);
    if (mapping.isEmpty()) {
      return Optional.empty();
    }
    Map<String, Node> m = mapping.get();
    Optional<String> name = r.required(m, "name", node, path, NAME_EXPECTED)
        .flatMap(n -> unique(n, child(path, "name"), names, "upstream name within the workload"));
    OptionalInt localPort = OptionalInt.empty();
    Optional<Node> portNode = r.required(m, "port", node, path, "the local port on 127.0.0.1, 1..65535");
    if (portNode.isPresent()) {
      localPort = r.port(portNode.get(), child(path, "port"));
      localPort.ifPresent(p -> ports.claim(p, portNode.get(), child(path, "port")));
    }
    Optional<HostAndPort> address = r.required(m, "address", node, path, "host:port of the upstream")
        .flatMap(n -> address(n, child(path, "address")));
    List<SpiffeId> ids = new ArrayList<>();
    r.required(m, "spiffeIds", node, path, "the SPIFFE IDs the upstream may present")
        .ifPresent(n -> upstreamIds(n, child(path, "spiffeIds"), ids));
    if (r.errorCount() > before) {
      return Optional.empty();
    }
    return Optional.of(new Upstream(name.get(), localPort.getAsInt(), address.get().getHost(),
        address.get().getPort(), ids));
  }

  private void upstreamIds(Node n, String path, List<SpiffeId> out) {
    Optional<List<SpiffeId>> ids = r.list(n, path, "a list of SPIFFE IDs", (item, p) ->
        r.checked(item, p, "a SPIFFE ID", PolicyValues::spiffeId).map(s -> {
          SpiffeId id = SpiffeId.parse(s);
          trustDomainRule.check(r, item, p, s, id.getTrustDomain(), false);
          if (out.contains(id)) {
            r.error(item, p, PolicyValues.quote(s) + " is listed twice");
          }
          out.add(id);
          return id;
        }));
    if (ids.isPresent() && ids.get().isEmpty()) {
      r.error(n, path, "empty list (expected at least one SPIFFE ID the upstream must present)");
    }
  }

  private Optional<HostAndPort> address(Node n, String path) {
    String expected = "host:port of the upstream, e.g. backend.demo.svc.cluster.local:8080";
    return r.string(n, path, expected).flatMap(s -> {
      HostAndPort hp;
      try {
        hp = HostAndPort.fromString(s);
      } catch (IllegalArgumentException e) {
        r.error(n, path, PolicyValues.quote(s) + " is not host:port (expected " + expected + ")");
        return Optional.empty();
      }
      if (!hp.hasPort()) {
        r.error(n, path, PolicyValues.quote(s) + " has no port (expected " + expected + ")");
        return Optional.empty();
      }
      if (PolicyValues.host(hp.getHost()).isPresent()) {
        r.error(n, path, PolicyValues.quote(s) + ": host " + PolicyValues.quote(hp.getHost())
            + " is not a host name or IP address (expected " + expected + ")");
        return Optional.empty();
      }
      if (PolicyValues.port(hp.getPort()).isPresent()) {
        r.error(n, path, PolicyValues.quote(s) + ": port " + hp.getPort() + " is out of range (expected 1..65535)");
        return Optional.empty();
      }
      return Optional.of(hp);
    });
  }
}
