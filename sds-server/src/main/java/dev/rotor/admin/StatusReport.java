package dev.rotor.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rotor.gate.GateStatus;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.status.ResourceStatus;
import dev.rotor.status.StreamStatus;
import dev.rotor.status.TypeStatus;
import dev.rotor.xds.CertificateInfo;
import dev.rotor.xds.TypeUrls;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The {@code /status} document: the identities Rotor serves and, per connected Envoy, what each
 * type was sent, ACKed and NACKed. Built from immutable snapshots only. It carries SPIFFE IDs,
 * serials, validity, versions, nonces and error texts, never a certificate's or key's bytes.
 *
 * <p>An "Envoy" is the set of open streams with the same node id and peer: Envoy opens one SDS
 * stream per secret when SDS is not on ADS, and the operator wants one row per proxy.
 */
public final class StatusReport {

  /** The policy as {@code /status} shows it. */
  public record PolicyInfo(String file, Optional<String> versionInForce, long reloads, long rejections) {}

  static final ObjectMapper JSON = new ObjectMapper();
  /** The types {@code rotor status} shows as columns, in this order. */
  static final List<String> COLUMNS = List.of(TypeUrls.SECRET, TypeUrls.LISTENER, TypeUrls.CLUSTER);

  private final String version;
  private final Clock clock;
  private final Supplier<GateStatus> gate;
  private final Supplier<List<StreamStatus>> streams;
  private final Supplier<Optional<PolicyInfo>> policy;
  private final Supplier<Readiness.Result> readiness;
  private final Supplier<Optional<ObjectNode>> node;

  public StatusReport(String version, Clock clock, Supplier<GateStatus> gate, Supplier<List<StreamStatus>> streams,
      Supplier<Optional<PolicyInfo>> policy, Supplier<Readiness.Result> readiness) {
    this(version, clock, gate, streams, policy, readiness, Optional::empty);
  }

  /**
   * @param node node mode's section (the attested workloads, their subscriptions and identities),
   *     present only in node mode
   */
  public StatusReport(String version, Clock clock, Supplier<GateStatus> gate, Supplier<List<StreamStatus>> streams,
      Supplier<Optional<PolicyInfo>> policy, Supplier<Readiness.Result> readiness, Supplier<Optional<ObjectNode>> node) {
    this.node = requireNonNull(node, "node");
    this.version = requireNonNull(version, "version");
    this.clock = requireNonNull(clock, "clock");
    this.gate = requireNonNull(gate, "gate");
    this.streams = requireNonNull(streams, "streams");
    this.policy = requireNonNull(policy, "policy");
    this.readiness = requireNonNull(readiness, "readiness");
  }

  public ObjectNode build() {
    Instant now = clock.instant();
    ObjectNode root = JSON.createObjectNode();
    root.put("rotor_version", version);
    root.put("time", now.toString());
    Readiness.Result r = readiness.get();
    ObjectNode ready = root.putObject("ready");
    ready.put("ready", r.ready());
    r.reasons().forEach(ready.putArray("reasons")::add);
    root.set("identity", identity(gate.get(), now));
    Optional<PolicyInfo> p = policy.get();
    if (p.isPresent()) {
      ObjectNode pn = root.putObject("policy");
      pn.put("file", p.get().file());
      pn.put("version", p.get().versionInForce().orElse(null));
      pn.put("reloads", p.get().reloads());
      pn.put("rejections", p.get().rejections());
    } else {
      root.putNull("policy");
    }
    node.get().ifPresent(n -> root.set("node", n));
    ArrayNode envoys = root.putArray("envoys");
    groupByEnvoy(streams.get()).forEach(g -> envoys.add(envoy(g, now)));
    return root;
  }

  private static ObjectNode identity(GateStatus g, Instant now) {
    ObjectNode n = JSON.createObjectNode();
    n.put("healthy", g.healthy());
    n.put("unhealthy_reason", g.unhealthyReason().orElse(null));
    Optional<IdentitySnapshot> served = g.current();
    n.put("version", served.map(IdentitySnapshot::version).orElse(null));
    ArrayNode svids = n.putArray("svids");
    ArrayNode bundles = n.putArray("bundles");
    if (served.isPresent()) {
      boolean first = true;
      for (Svid s : served.get().svids()) {
        ObjectNode sv = svids.addObject();
        sv.put("spiffe_id", s.spiffeId().toString());
        sv.put("serial", s.serialHex());
        sv.put("not_before", s.notBefore().toString());
        sv.put("not_after", s.notAfter().toString());
        sv.put("expires_in_seconds", Duration.between(now, s.notAfter()).toSeconds());
        sv.put("default", first);
        first = false;
      }
      for (TrustBundle b : served.get().bundles().values()) {
        ObjectNode bn = bundles.addObject();
        bn.put("trust_domain", b.trustDomain().getName());
        bn.put("authorities", b.authorities().size());
      }
    }
    ObjectNode refusals = n.putObject("refusals");
    g.refusals().forEach((reason, count) -> refusals.put(reason.name().toLowerCase(Locale.ROOT), count));
    g.lastRefusal().ifPresentOrElse(lr -> {
      ObjectNode l = n.putObject("last_refusal");
      l.put("reason", lr.reason().name().toLowerCase(Locale.ROOT));
      l.put("detail", lr.detail());
      l.put("at", lr.at().toString());
    }, () -> n.putNull("last_refusal"));
    n.put("source_errors", g.sourceErrors());
    return n;
  }

  /** Streams of one Envoy: same node id and peer. */
  record Envoy(String nodeId, String peer, List<StreamStatus> streams) {}

  static List<Envoy> groupByEnvoy(List<StreamStatus> all) {
    Map<List<String>, List<StreamStatus>> groups = new TreeMap<>(
        Comparator.<List<String>, String>comparing(k -> k.get(0)).thenComparing(k -> k.get(1)));
    for (StreamStatus s : all) {
      groups.computeIfAbsent(List.of(s.nodeId(), s.peer()), k -> new ArrayList<>()).add(s);
    }
    List<Envoy> out = new ArrayList<>();
    groups.forEach((k, v) -> out.add(new Envoy(k.get(0), k.get(1), List.copyOf(v))));
    return out;
  }

  private static ObjectNode envoy(Envoy e, Instant now) {
    ObjectNode n = JSON.createObjectNode();
    n.put("node_id", e.nodeId());
    n.put("peer", e.peer());
    if (e.streams().get(0).caller() instanceof dev.rotor.protocol.Caller.Attested attested) {
      n.put("attested_id", attested.spiffeId().toString()); // node mode: who SPIRE says this Envoy is
    }
    n.put("cluster", e.streams().get(0).node().getCluster());
    // The identity this Envoy runs: the certificates it ACKed, one entry per certificate.
    Map<String, CertificateInfo> certs = new TreeMap<>();
    for (StreamStatus s : e.streams()) {
      TypeStatus secrets = s.types().get(TypeUrls.SECRET);
      if (secrets != null) {
        for (ResourceStatus r : secrets.resources().values()) {
          r.ackedCertificate().ifPresent(c -> certs.put(c.spiffeId() + "/" + c.serialHex(), c));
        }
      }
    }
    ArrayNode ids = n.putArray("identities");
    for (CertificateInfo c : certs.values()) {
      ObjectNode i = ids.addObject();
      i.put("spiffe_id", c.spiffeId());
      i.put("serial", c.serialHex());
      i.put("not_after", c.notAfter().toString());
      i.put("expires_in_seconds", Duration.between(now, c.notAfter()).toSeconds());
    }
    ObjectNode sync = n.putObject("sync");
    for (String typeUrl : COLUMNS) {
      sync.set(TypeUrls.shortName(typeUrl), typeSync(e.streams(), typeUrl));
    }
    ArrayNode streams = n.putArray("streams");
    for (StreamStatus s : e.streams()) {
      ObjectNode sn = streams.addObject();
      sn.put("id", s.id());
      sn.put("kind", s.kind().name().toLowerCase(Locale.ROOT));
      sn.put("opened_at", s.openedAt().toString());
      ObjectNode types = sn.putObject("types");
      s.types().forEach((typeUrl, t) -> types.set(TypeUrls.shortName(typeUrl), type(t)));
    }
    return n;
  }

  /** One type's state for one Envoy: the worst over its streams; null when none subscribes. */
  private static ObjectNode typeSync(List<StreamStatus> streams, String typeUrl) {
    TypeStatus worst = null;
    for (StreamStatus s : streams) {
      TypeStatus t = s.types().get(typeUrl);
      if (t != null && (worst == null || t.state().severity() > worst.state().severity())) {
        worst = t;
      }
    }
    if (worst == null) {
      return null;
    }
    ObjectNode n = JSON.createObjectNode();
    n.put("state", worst.state().name());
    if (worst.state() == TypeStatus.SyncState.NACKED) {
      TypeStatus.Nack nack = worst.lastNack().orElseThrow();
      n.put("error", nack.error());
      n.put("since", nack.at().toString());
    } else if (worst.state() == TypeStatus.SyncState.NOT_SENT) {
      List<String> missing = worst.resources().values().stream()
          .filter(r -> r.state() == ResourceStatus.State.REQUESTED).map(ResourceStatus::name).toList();
      n.put("error", missing.isEmpty() ? "nothing sent yet" : "not available (yet): " + String.join(", ", missing));
    }
    return n;
  }

  private static ObjectNode type(TypeStatus t) {
    ObjectNode n = JSON.createObjectNode();
    n.put("state", t.state().name());
    n.put("wildcard", t.wildcard());
    t.subscribed().forEach(n.putArray("subscribed")::add);
    n.put("sent_version", t.lastSent().map(TypeStatus.Event::version).orElse(null));
    n.put("sent_nonce", t.lastSent().map(TypeStatus.Event::nonce).orElse(null));
    n.put("sent_at", t.lastSent().map(x -> x.at().toString()).orElse(null));
    n.put("acked_version", t.lastAck().map(TypeStatus.Event::version).orElse(null));
    n.put("acked_nonce", t.lastAck().map(TypeStatus.Event::nonce).orElse(null));
    n.put("acked_at", t.lastAck().map(x -> x.at().toString()).orElse(null));
    t.lastNack().ifPresentOrElse(x -> n.set("last_nack", nack(x)), () -> n.putNull("last_nack"));
    ArrayNode resources = n.putArray("resources");
    for (ResourceStatus r : t.resources().values()) {
      ObjectNode rn = resources.addObject();
      rn.put("name", r.name());
      rn.put("state", r.state().name());
      rn.put("sent_version", r.sentVersion());
      rn.put("acked_version", r.ackedVersion());
      r.ackedCertificate().ifPresent(c -> {
        rn.put("serial", c.serialHex());
        rn.put("not_after", c.notAfter().toString());
      });
      r.nack().ifPresent(x -> rn.set("nack", nack(x)));
      rn.put("updated_at", r.updatedAt().toString());
    }
    return n;
  }

  private static ObjectNode nack(TypeStatus.Nack x) {
    ObjectNode n = JSON.createObjectNode();
    n.put("rejected_version", x.rejectedVersion());
    n.put("nonce", x.nonce());
    n.put("error", x.error());
    n.put("at", x.at().toString());
    return n;
  }
}
