package dev.rotor.node;

import static java.util.Objects.requireNonNull;

import dev.rotor.config.PolicyResources;
import dev.rotor.identity.TrustBundle;
import dev.rotor.protocol.Caller;
import dev.rotor.protocol.StoreProvider;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.status.StreamRegistry;
import dev.rotor.status.StreamStatus;
import dev.rotor.xds.Resource;
import io.grpc.Status;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The attested workloads of a node-mode Rotor, by their identities: the store each stream reads
 * ({@link StoreProvider}), created when a workload's first stream opens and closed with its last.
 * It also routes what the streams report to their workload (rotation convergence, counters).
 *
 * <p>Threads: this object's monitor guards the map's writes, the bundles and policy it hands new
 * workloads, and every workload's members and subscription (see {@link AttestedWorkload}). Reads of
 * the map from stream executors (counters, convergence) are lock-free.
 */
final class NodeWorkloads implements StoreProvider, StreamRegistry.Observer, XdsEventListener,
    AttestedWorkload.Hooks {

  private static final Logger log = LoggerFactory.getLogger(NodeWorkloads.class);

  private final DelegatedIdentityClient client;
  private final NodeServing serving;
  private final ConcurrentHashMap<List<SpiffeId>, AttestedWorkload> byIds = new ConcurrentHashMap<>();
  private final AtomicLong opened = new AtomicLong();
  private final AtomicLong diverged = new AtomicLong();
  /** Closes an attested connection by its number (the Unix-socket server's); set before streams open. */
  private volatile LongConsumer disconnect = c -> {};

  // Guarded by this.
  private Map<TrustDomain, TrustBundle> bundles = Map.of();
  private Optional<PolicyResources> policy = Optional.empty();

  NodeWorkloads(DelegatedIdentityClient client, NodeServing serving) {
    this.client = requireNonNull(client, "client");
    this.serving = requireNonNull(serving, "serving");
  }

  void disconnectWith(LongConsumer disconnect) {
    this.disconnect = requireNonNull(disconnect, "disconnect");
  }

  @Override
  public Lease acquire(Caller caller) {
    if (!(caller instanceof Caller.Attested attested)) {
      // Fail closed: a node-mode socket serves attested callers only (the transport makes sure).
      throw Status.PERMISSION_DENIED.withDescription("caller not attested").asRuntimeException();
    }
    AttestedWorkload w;
    synchronized (this) {
      w = byIds.computeIfAbsent(attested.spiffeIds(), ids -> {
        opened.incrementAndGet();
        log.atInfo().addKeyValue("workload", ids.get(0).toString()).addKeyValue("spiffe_ids", ids.toString())
            .log("attested workload: first stream, subscribing to its SVIDs");
        return new AttestedWorkload(ids, this, client, serving, this, policy, bundles);
      });
      w.join(attested);
    }
    long connection = attested.process().connection();
    return new Lease(w.store(), () -> release(w, connection), w.ready());
  }

  private synchronized void release(AttestedWorkload w, long connection) {
    if (w.leave(connection)) {
      w.close();
      if (byIds.remove(w.ids(), w)) {
        log.atInfo().addKeyValue("workload", w.ids().get(0).toString())
            .log("attested workload: last stream closed, its SVID subscription with it");
      }
    }
  }

  synchronized void bundlesChanged(Map<TrustDomain, TrustBundle> now) {
    bundles = Map.copyOf(now);
    byIds.values().forEach(w -> w.bundlesChanged(bundles));
  }

  synchronized void policyChanged(Optional<PolicyResources> now) {
    policy = requireNonNull(now, "now");
    byIds.values().forEach(w -> w.policyChanged(policy));
  }

  /** Called under this monitor by the workload whose answer named other identities. */
  @Override
  public void diverged(AttestedWorkload w, String why) {
    diverged.incrementAndGet();
    byIds.remove(w.ids(), w);
    List<Long> connections = w.connections();
    w.close();
    log.atWarn().addKeyValue("workload", w.ids().get(0).toString()).addKeyValue("connections", connections.size())
        .log("attested workload retired: {}; closing its connections so each process is attested again", why);
    // Closing the connection, not just the streams: Envoy opens new streams on the same connection,
    // and a connection's attestation is fixed when it is made.
    connections.forEach(disconnect::accept);
  }

  /** Every live workload's status, sorted by identity. */
  synchronized List<AttestedWorkload.WorkloadStatus> statuses() {
    List<AttestedWorkload.WorkloadStatus> out = new ArrayList<>();
    byIds.values().forEach(w -> out.add(w.status()));
    out.sort(java.util.Comparator.comparing(s -> s.spiffeIds().toString()));
    return out;
  }

  /** Workloads opened since start. */
  long opened() {
    return opened.get();
  }

  /** Workloads retired because SPIRE changed their identities under them. */
  long diverged() {
    return diverged.get();
  }

  /** Closes every workload's subscription (shutdown). */
  synchronized void closeAll() {
    byIds.values().forEach(AttestedWorkload::close);
  }

  private Optional<AttestedWorkload> of(Caller caller) {
    return caller instanceof Caller.Attested a ? Optional.ofNullable(byIds.get(a.spiffeIds())) : Optional.empty();
  }

  // ---- what the streams report, to their workload ----

  @Override
  public void acked(StreamStatus stream, String typeUrl) {
    of(stream.caller()).ifPresent(w -> w.convergence().acked(stream, typeUrl));
  }

  @Override
  public void nacked(StreamStatus stream, String typeUrl, List<String> names, String error) {
    of(stream.caller()).ifPresent(w -> w.convergence().nacked(stream, typeUrl, names, error));
  }

  @Override
  public void closed(long streamId) {
    byIds.values().forEach(w -> w.convergence().closed(streamId));
  }

  @Override
  public void responseSent(StreamInfo stream, String typeUrl, String version, String nonce, List<Resource> resources,
      List<String> removed, OptionalLong latencyNanos) {
    of(stream.caller()).ifPresent(w -> w.count("response"));
  }

  @Override
  public void ackReceived(StreamInfo stream, String typeUrl, String version, String nonce) {
    of(stream.caller()).ifPresent(w -> w.count("ack"));
  }

  @Override
  public void nackReceived(StreamInfo stream, String typeUrl, String version, String nonce, String errorDetail) {
    of(stream.caller()).ifPresent(w -> w.count("nack"));
  }
}
