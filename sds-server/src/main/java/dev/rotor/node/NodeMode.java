package dev.rotor.node;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rotor.config.PolicyResources;
import dev.rotor.gate.GateStatus;
import dev.rotor.gate.RefusalReason;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.metrics.RotorMetrics;
import dev.rotor.protocol.StoreProvider;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.source.workload.Backoff;
import dev.rotor.source.workload.WorkloadApiAddress;
import dev.rotor.source.workload.WorkloadApiChannels;
import dev.rotor.status.StreamRegistry;
import dev.rotor.transport.PeerAttestor;
import io.spiffe.spiffeid.SpiffeId;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * Node mode ({@code rotor serve --node}): one Rotor serving every Envoy on its node, each caller
 * attested by the SPIRE agent's Delegated Identity API from its PID, each attested workload served
 * from its own SVID subscription, identity gate and store. This assembles the parts and gives the
 * runtime what it plugs in: the {@link PeerAttestor} for the Unix socket, the {@link StoreProvider}
 * for the streams, the stream observers, status, readiness and metrics.
 *
 * <p>Where attestation happens: on each new connection, before gRPC sees it ({@link PidAttestor}),
 * never on a push. What a stream then reads is its workload's store, chosen once when it opens.
 */
public final class NodeMode implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final NodeOptions options;
  private final DelegatedIdentityClient client;
  private final PidAttestor attestor;
  private final NodeWorkloads workloads;
  private final NodeBundles bundles;

  private NodeMode(NodeOptions options, DelegatedIdentityClient client, PidAttestor attestor,
      NodeWorkloads workloads, NodeBundles bundles) {
    this.options = options;
    this.client = client;
    this.attestor = attestor;
    this.workloads = workloads;
    this.bundles = bundles;
  }

  /** Assembles node mode; nothing connects to the agent until {@link #start}. */
  public static NodeMode create(NodeOptions options, NodeServing serving) {
    requireNonNull(options, "options");
    requireNonNull(serving, "serving");
    WorkloadApiChannels.Transport transport = WorkloadApiChannels.forAddress(
        new WorkloadApiAddress.Unix(options.adminSocket()));
    DelegatedIdentityClient client = new DelegatedIdentityClient("delegated-identity-api unix://"
        + options.adminSocket(), transport.channels(), transport.release());
    PidAttestor attestor = new PidAttestor(client, serving.scheduler(), options.attestationTimeout(),
        serving.trustDomain());
    NodeWorkloads workloads = new NodeWorkloads(client, serving);
    NodeBundles bundles = new NodeBundles(client, serving.scheduler(), Backoff.withDefaults(new SecureRandom()),
        workloads::bundlesChanged);
    return new NodeMode(options, client, attestor, workloads, bundles);
  }

  /** Subscribes to the node's bundles; {@code disconnect} closes an attested connection by its number. */
  public void start(LongConsumer disconnect) {
    workloads.disconnectWith(disconnect);
    bundles.start();
  }

  public String describe() {
    return client.describe();
  }

  public PeerAttestor attestor() {
    return attestor;
  }

  public StoreProvider stores() {
    return workloads;
  }

  /** Routes rotation ACKs and NACKs to the workload of the stream. */
  public StreamRegistry.Observer convergence() {
    return workloads;
  }

  /** Counts each workload's xDS responses, ACKs and NACKs. */
  public XdsEventListener events() {
    return workloads;
  }

  /** Every workload is served the new policy's resources. */
  public void policyChanged(Optional<PolicyResources> policy) {
    workloads.policyChanged(policy);
  }

  /**
   * What keeps this node-mode Rotor from serving, for /readyz: the agent's bundles not received, or
   * their stream down. A workload's own trouble is its own (status, metrics), not the node's.
   */
  public List<String> readinessProblems() {
    return bundles.problem().map(List::of).orElse(List.of());
  }

  /**
   * The gate status of all workloads together, for the metrics that describe "the" identity: healthy
   * when every workload's gate is; refusals and source errors added up; no single served snapshot.
   */
  public GateStatus gateStatus() {
    List<AttestedWorkload.WorkloadStatus> all = workloads.statuses();
    Map<RefusalReason, Long> refusals = new EnumMap<>(RefusalReason.class);
    long errors = bundles.errors();
    Optional<String> unhealthy = Optional.empty();
    Optional<GateStatus.Refusal> last = Optional.empty();
    for (AttestedWorkload.WorkloadStatus w : all) {
      GateStatus g = w.identity();
      g.refusals().forEach((r, n) -> refusals.merge(r, n, Long::sum));
      errors += g.sourceErrors();
      if (!g.healthy() && unhealthy.isEmpty()) {
        unhealthy = Optional.of(w.spiffeIds().get(0) + ": " + g.unhealthyReason().orElse("unknown"));
      }
      if (g.lastRefusal().isPresent() && (last.isEmpty() || g.lastRefusal().get().at().isAfter(last.get().at()))) {
        last = g.lastRefusal();
      }
    }
    return new GateStatus(unhealthy.isEmpty(), unhealthy, refusals, errors, last, Optional.empty());
  }

  /** The {@code node} section of /status. */
  public ObjectNode status(Instant now) {
    ObjectNode n = JSON.createObjectNode();
    n.put("delegated_identity_api", "unix://" + options.adminSocket());
    n.put("bundles_problem", bundles.problem().orElse(null));
    ArrayNode tds = n.putArray("trust_domains");
    bundles.current().keySet().stream().map(td -> td.getName()).sorted().forEach(tds::add);
    ObjectNode att = n.putObject("attestations");
    attestor.outcomes().forEach(att::put);
    n.put("workloads_opened", workloads.opened());
    n.put("workloads_retired_for_changed_identity", workloads.diverged());
    ArrayNode list = n.putArray("workloads");
    for (AttestedWorkload.WorkloadStatus w : workloads.statuses()) {
      ObjectNode wn = list.addObject();
      ArrayNode ids = wn.putArray("spiffe_ids");
      w.spiffeIds().forEach(id -> ids.add(id.toString()));
      ArrayNode pids = wn.putArray("pids");
      w.pids().forEach(pids::add);
      wn.put("streams", w.streams());
      wn.put("subscribed_with_pid", w.subscribedWithPid().orElse(null));
      wn.put("svid_updates", w.svidUpdates());
      wn.put("handovers", w.handovers());
      wn.put("since", w.since().toString());
      GateStatus g = w.identity();
      wn.put("healthy", g.healthy());
      wn.put("unhealthy_reason", g.unhealthyReason().orElse(null));
      ArrayNode svids = wn.putArray("svids");
      g.current().map(IdentitySnapshot::svids).orElse(List.of()).forEach(s -> {
        ObjectNode sv = svids.addObject();
        sv.put("spiffe_id", s.spiffeId().toString());
        sv.put("serial", s.serialHex());
        sv.put("not_after", s.notAfter().toString());
        sv.put("expires_in_seconds", Duration.between(now, s.notAfter()).toSeconds());
      });
      ObjectNode events = wn.putObject("xds");
      w.xdsEvents().forEach(events::put);
    }
    return n;
  }

  /**
   * Node mode's metrics. The {@code workload} label is an attested workload's SPIFFE IDs; a
   * series exists while the workload does (it has a stream), so their number is bounded by the
   * connections the socket admits, and counters start again when a workload comes back.
   */
  public void registerMetrics(RotorMetrics metrics) {
    metrics.registerCounter("rotor_node_attestations_total", "Node mode: connections SPIRE was asked to attest, by"
        + " outcome: attested, refused (no identity for the process, or it went away), unavailable (agent"
        + " unreachable, too slow, or Rotor not an authorized delegate)", List.of("outcome"),
        () -> labelled(attestor.outcomes()));
    metrics.registerGauge("rotor_node_workloads", "Node mode: attested workloads being served (one SVID"
        + " subscription each)", List.of(), () -> Map.of(List.of(), (double) workloads.statuses().size()));
    metrics.registerGauge("rotor_node_workload_streams", "Node mode: open xDS streams of each attested workload",
        List.of("workload"), () -> perWorkload(w -> (double) w.streams()));
    metrics.registerGauge("rotor_node_workload_healthy", "Node mode: 1 while the workload's identity gate serves a"
        + " valid identity, else 0", List.of("workload"), () -> perWorkload(w -> w.identity().healthy() ? 1.0 : 0.0));
    metrics.registerGauge("rotor_node_workload_svid_expiry_seconds", "Node mode: seconds until the workload's"
        + " earliest served SVID expires", List.of("workload"), () -> {
          Map<List<String>, Double> out = new LinkedHashMap<>();
          long nowMillis = System.currentTimeMillis();
          for (AttestedWorkload.WorkloadStatus w : workloads.statuses()) {
            w.identity().current().flatMap(IdentitySnapshot::earliestSvidExpiry).ifPresent(t ->
                out.put(List.of(label(w.spiffeIds())), (t.toEpochMilli() - nowMillis) / 1000.0));
          }
          return out;
        });
    metrics.registerCounter("rotor_node_workload_svid_updates_total", "Node mode: SVID answers from SPIRE taken for"
        + " each workload since it was opened", List.of("workload"), () -> {
          Map<List<String>, Long> out = new LinkedHashMap<>();
          workloads.statuses().forEach(w -> out.put(List.of(label(w.spiffeIds())), w.svidUpdates()));
          return out;
        });
    metrics.registerCounter("rotor_node_workload_xds_events_total", "Node mode: xDS responses sent and ACKs and"
        + " NACKs received, by workload and event", List.of("workload", "event"), () -> {
          Map<List<String>, Long> out = new LinkedHashMap<>();
          workloads.statuses().forEach(w -> w.xdsEvents().forEach((e, n) ->
              out.put(List.of(label(w.spiffeIds()), e), n)));
          return out;
        });
  }

  private Map<List<String>, Double> perWorkload(java.util.function.ToDoubleFunction<AttestedWorkload.WorkloadStatus> f) {
    Map<List<String>, Double> out = new LinkedHashMap<>();
    workloads.statuses().forEach(w -> out.put(List.of(label(w.spiffeIds())), f.applyAsDouble(w)));
    return out;
  }

  /** Its identities, comma-separated: unique per workload (two workloads may share a default ID). */
  private static String label(List<SpiffeId> ids) {
    return String.join(",", ids.stream().map(SpiffeId::toString).toList());
  }

  private static Map<List<String>, Long> labelled(Map<String, Long> counts) {
    Map<List<String>, Long> out = new LinkedHashMap<>();
    counts.forEach((k, v) -> out.put(List.of(k), v));
    return out;
  }

  @Override
  public void close() {
    bundles.close();
    workloads.closeAll();
    client.close();
  }
}
