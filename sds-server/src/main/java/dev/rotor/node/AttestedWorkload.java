package dev.rotor.node;

import static java.util.Objects.requireNonNull;

import dev.rotor.config.PolicyResources;
import dev.rotor.config.ServingState;
import dev.rotor.gate.GatePolicy;
import dev.rotor.gate.GateStatus;
import dev.rotor.gate.IdentityGate;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.protocol.Caller;
import dev.rotor.protocol.ResourceStore;
import dev.rotor.sds.SecretState;
import dev.rotor.source.workload.Backoff;
import dev.rotor.source.workload.MalformedResponseException;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509SVIDsResponse;
import dev.rotor.status.RotationConvergence;
import dev.rotor.xds.secret.SecretCatalog;
import io.grpc.Status;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One workload of a node-mode Rotor: every process SPIRE attested with the same identities (the
 * same SPIFFE IDs, in the same order), the one {@code SubscribeToX509SVIDs} call they share, its
 * own identity gate, and the store their streams read. It exists while one of its streams does.
 *
 * <p>The shared call is opened with the PID of one of its processes (the anchor), and SPIRE
 * attests that PID once, when the call opens. SPIRE's API asks the delegate to close such a call
 * when the PID may have been reused, and to discard what came after; so every answer is taken only
 * if the anchor's process is still the same one ({@code Caller.Process#liveness}), and the call is
 * moved to another of the workload's processes (a handover) when the anchor is gone or holds no
 * stream any more. An answer whose identities are not the ones every member was attested with
 * (an entry was added, removed or changed) is not served: the workload retires and its connections
 * are closed, so each process is attested again on its own.
 *
 * <p>Threads: members, the call and the latest answer are guarded by {@code lock}, the registry's
 * monitor ({@link NodeWorkloads}); what is served (catalog, policy, publication) by this object's
 * monitor. Lock order: {@code lock}, then this. The gate is fed under {@code lock}, so its input
 * keeps the order of the answers.
 */
final class AttestedWorkload {

  private static final Logger log = LoggerFactory.getLogger(AttestedWorkload.class);

  /** What the registry does for a workload. */
  interface Hooks {
    /** Its identities changed under it (called under {@code lock}): retire it and close its connections. */
    void diverged(AttestedWorkload workload, String why);
  }

  /** A connection whose streams read this workload. */
  private static final class Member {
    final Caller.Process process;
    int streams;

    Member(Caller.Process process) {
      this.process = process;
    }
  }

  private final List<SpiffeId> ids;
  private final Object lock;
  private final DelegatedIdentityClient client;
  private final NodeServing serving;
  private final Hooks hooks;
  private final IdentityGate gate;
  private final ResourceStore store;
  private final RotationConvergence convergence;
  private final CompletableFuture<Void> ready = new CompletableFuture<>();
  private final Instant since;
  private final AtomicLong svidUpdates = new AtomicLong();
  private final AtomicLong handovers = new AtomicLong();
  private final Map<String, LongAdder> xdsEvents = new HashMap<>();

  // Guarded by lock.
  private final Map<Long, Member> members = new LinkedHashMap<>();
  private final Backoff backoff;
  private Member anchor;
  private DelegatedIdentityClient.Subscription call;
  private ScheduledFuture<?> retry;
  private DelegatedSvids latest;
  private Map<TrustDomain, TrustBundle> bundles;
  private boolean closed;

  // Guarded by this.
  private SecretCatalog catalog = SecretCatalog.EMPTY;
  private Optional<PolicyResources> policy;
  private long generation;

  AttestedWorkload(List<SpiffeId> ids, Object lock, DelegatedIdentityClient client, NodeServing serving,
      Hooks hooks, Optional<PolicyResources> policy, Map<TrustDomain, TrustBundle> bundles) {
    this.ids = List.copyOf(requireNonNull(ids, "ids"));
    this.lock = requireNonNull(lock, "lock");
    this.client = requireNonNull(client, "client");
    this.serving = requireNonNull(serving, "serving");
    this.hooks = requireNonNull(hooks, "hooks");
    this.policy = requireNonNull(policy, "policy");
    this.bundles = bundles.isEmpty() ? null : bundles;
    this.backoff = Backoff.withDefaults(new SecureRandom());
    this.since = serving.clock().instant();
    // What it may serve: its attested identities, nothing else (fails closed if SPIRE sends another).
    this.gate = new IdentityGate(new GatePolicy(serving.trustDomain(), Set.copyOf(ids)), serving.clock(),
        serving.scheduler(), this::served);
    this.store = new ResourceStore(state(0, SecretCatalog.EMPTY));
    this.convergence = new RotationConvergence(() -> serving.streams().get().stream()
        .filter(s -> s.caller() instanceof Caller.Attested a && a.spiffeIds().equals(this.ids)).toList(),
        System::nanoTime, serving.convergence());
    for (String e : List.of("response", "ack", "nack")) {
      xdsEvents.put(e, new LongAdder());
    }
  }

  List<SpiffeId> ids() {
    return ids;
  }

  ResourceStore store() {
    return store;
  }

  CompletableFuture<Void> ready() {
    return ready;
  }

  RotationConvergence convergence() {
    return convergence;
  }

  GateStatus gateStatus() {
    return gate.status();
  }

  /** Counts one xDS event of one of its streams: response, ack or nack. */
  void count(String event) {
    LongAdder n = xdsEvents.get(event);
    if (n != null) {
      n.increment();
    }
  }

  // ---- members (lock held) ----

  /** A stream of {@code caller} opened. */
  void join(Caller.Attested caller) {
    members.computeIfAbsent(caller.process().connection(), c -> new Member(caller.process())).streams++;
    if (call == null && retry == null && !closed) {
      subscribe();
    }
  }

  /** A stream on {@code connection} closed; true when the workload has no stream left. */
  boolean leave(long connection) {
    Member m = members.get(connection);
    if (m != null && --m.streams <= 0) {
      members.remove(connection);
      if (m == anchor && !members.isEmpty() && !closed) {
        handover("pid " + m.process.pid() + " has no stream left");
      }
    }
    return members.isEmpty();
  }

  /** The connections of its members, to close them when it diverges. */
  List<Long> connections() {
    return List.copyOf(members.keySet());
  }

  /** The node's bundles changed. */
  void bundlesChanged(Map<TrustDomain, TrustBundle> now) {
    bundles = now;
    feedGate();
  }

  /** Stops its subscription and gate; what it served stays readable until its last stream closes. */
  void close() {
    closed = true;
    if (retry != null) {
      retry.cancel(false);
      retry = null;
    }
    if (call != null) {
      call.cancel();
      call = null;
    }
    gate.close();
  }

  /** What /status shows of it (lock held). */
  WorkloadStatus status() {
    List<Integer> pids = new ArrayList<>();
    int streams = 0;
    for (Member m : members.values()) {
      pids.add(m.process.pid());
      streams += m.streams;
    }
    Map<String, Long> events = new java.util.TreeMap<>();
    xdsEvents.forEach((e, n) -> events.put(e, n.sum()));
    return new WorkloadStatus(ids, gate.status(), pids, streams, call == null ? Optional.empty()
        : Optional.of(anchor.process.pid()), svidUpdates.get(), handovers.get(), events, since);
  }

  // ---- the shared subscription (lock held) ----

  private void subscribe() {
    anchor = null;
    for (Member m : members.values()) {
      if (m.process.liveness().get().isEmpty()) {
        anchor = m;
        break;
      }
    }
    if (anchor == null) {
      retryLater("none of its processes is alive to subscribe with");
      return;
    }
    Member with = anchor;
    DelegatedIdentityClient.Subscription[] self = new DelegatedIdentityClient.Subscription[1];
    try {
      self[0] = client.subscribeToSvids(with.process.pid(), new DelegatedIdentityClient.Responses<>() {
        @Override
        public void onMessage(SubscribeToX509SVIDsResponse message) {
          synchronized (lock) {
            if (call == self[0] && !closed) {
              received(with, message);
            }
          }
        }

        @Override
        public void onClose(Status status) {
          synchronized (lock) {
            if (call == self[0] && !closed) {
              call = null;
              retryLater("SubscribeToX509SVIDs (pid " + with.process.pid() + ") ended: " + status.getCode()
                  + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")"));
            }
          }
        }
      });
      call = self[0];
    } catch (RuntimeException e) {
      retryLater("cannot open SubscribeToX509SVIDs: " + e);
    }
  }

  private void received(Member from, SubscribeToX509SVIDsResponse message) {
    // SPIRE attested from's PID when the call opened; an answer counts only while the same process holds it.
    Optional<String> gone = from.process.liveness().get();
    if (gone.isPresent()) {
      handover("the process it was subscribed with is gone (" + gone.get() + "); its answer is discarded");
      return;
    }
    DelegatedSvids update;
    try {
      update = DelegatedSvids.parse(message);
    } catch (MalformedResponseException e) {
      gate.onSourceError(ids.get(0) + ": unusable answer from the SPIRE agent: " + e.getMessage(), e);
      return;
    }
    if (!update.spiffeIds().equals(ids)) {
      hooks.diverged(this, "SPIRE now issues " + update.spiffeIds() + " to pid " + from.process.pid()
          + ", not the " + ids + " its processes were attested with");
      return;
    }
    backoff.reset();
    svidUpdates.incrementAndGet();
    latest = update;
    feedGate();
  }

  private void handover(String why) {
    handovers.incrementAndGet();
    if (call != null) {
      call.cancel();
      call = null;
    }
    log.atInfo().addKeyValue("workload", ids.get(0).toString()).log("moving the workload's SVID subscription: {}", why);
    if (retry == null) {
      subscribe();
    }
  }

  private void retryLater(String reason) {
    Duration delay = backoff.nextDelay();
    log.atWarn().addKeyValue("workload", ids.get(0).toString())
        .log("{}; subscribing again in {} ms, the last good identity stays in force", reason, delay.toMillis());
    gate.onSourceError(ids.get(0) + ": " + reason, null);
    retry = serving.scheduler().schedule(() -> {
      synchronized (lock) {
        retry = null;
        if (!closed && call == null && !members.isEmpty()) {
          subscribe();
        }
      }
    }, delay.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** A candidate snapshot to the gate, once both its SVIDs and the node's bundles are known. */
  private void feedGate() {
    if (latest == null || bundles == null || closed) {
      return;
    }
    Map<TrustDomain, TrustBundle> mine = new LinkedHashMap<>();
    for (Svid s : latest.svids()) {
      TrustDomain own = s.spiffeId().getTrustDomain();
      Optional.ofNullable(bundles.get(own)).ifPresent(b -> mine.put(own, b));
    }
    // As its Workload API would: its own trust domains' bundles and those it federates with only.
    for (TrustDomain td : latest.federatesWith()) {
      Optional.ofNullable(bundles.get(td)).ifPresent(b -> mine.put(td, b));
    }
    gate.onSnapshot(IdentitySnapshot.of(latest.svids(), mine));
  }

  // ---- what is served (this object's monitor) ----

  /** The gate passed {@code snapshot} (or withdrew expired SVIDs from it). */
  private synchronized void served(IdentitySnapshot snapshot) {
    // The own trust domain is the attested default's: it does not change when SVIDs expire.
    catalog = SecretCatalog.build(snapshot, serving.naming(), Optional.of(ids.get(0).getTrustDomain()));
    publish();
    if (!snapshot.svids().isEmpty()) {
      ready.complete(null);
    }
    log.atInfo().addKeyValue("workload", ids.get(0).toString()).addKeyValue("identity_version", snapshot.version())
        .addKeyValue("svids", snapshot.svids().stream().map(s -> s.spiffeId() + " serial=" + s.serialHex()
            + " not_after=" + s.notAfter()).toList())
        .log("serving attested workload identity");
  }

  synchronized void policyChanged(Optional<PolicyResources> now) {
    policy = now;
    publish();
  }

  private void publish() {
    ServingState next = state(++generation, catalog);
    convergence.beforePublish(next); // before: no stream can have seen it yet
    store.publish(next);
  }

  private ServingState state(long gen, SecretCatalog secrets) {
    long now = System.nanoTime();
    return new ServingState(gen, now, new SecretState(gen, now, secrets, serving.spiffeValidationDisabled()), policy,
        Optional.of(ids.get(0)));
  }

  /** One workload as /status and the metrics show it. */
  record WorkloadStatus(List<SpiffeId> spiffeIds, GateStatus identity, List<Integer> pids, int streams,
      Optional<Integer> subscribedWithPid, long svidUpdates, long handovers, Map<String, Long> xdsEvents,
      Instant since) {}
}
