package dev.rotor.node;

import static java.util.Objects.requireNonNull;

import dev.rotor.logging.RateLimitedLog;
import dev.rotor.source.workload.MalformedResponseException;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509SVIDsResponse;
import dev.rotor.transport.PeerAttestor;
import dev.rotor.transport.PeerIdentity.UnixPeer;
import dev.rotor.transport.PeerProcess;
import io.grpc.Status;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Attests each new connection's process with SPIRE's agent: a {@code SubscribeToX509SVIDs} call
 * with the caller's PID (SO_PEERCRED), closed at its first answer. The agent attests that PID as
 * it would attest it on its Workload API (its workload attestors: {@code unix} here, {@code k8s}
 * in a cluster) and answers with the SVIDs its registration entries give that process.
 *
 * <p>What this relies on from SPIRE (v1.13.3, {@code pkg/agent/api/delegatedidentity/v1}): Rotor's
 * own process is attested by the agent on every call, and must hold an entry whose SPIFFE ID is in
 * {@code authorized_delegates}; the PID is attested once, when the call starts, from {@code /proc};
 * a PID whose attestation fails gets no selectors, and so no SVID. SPIRE does not watch a delegated
 * PID: its API says the delegate must make sure the PID is not reused while it relies on the answer.
 * What Rotor adds for that: the connection's process is held open from before the call
 * ({@link PeerProcess}) and must still be the same process when the answer arrives; an answer for a
 * process that exited or whose PID was taken meanwhile is thrown away. Every new connection is
 * attested afresh, so a process that reuses an old PID starts from nothing.
 */
final class PidAttestor implements PeerAttestor {

  private static final Logger log = LoggerFactory.getLogger(PidAttestor.class);

  /** Outcomes, as counted in {@code rotor_node_attestations_total{outcome}}. */
  enum Outcome {
    ATTESTED, REFUSED, UNAVAILABLE
  }

  private final DelegatedIdentityClient client;
  private final ScheduledExecutorService scheduler;
  private final Duration timeout;
  private final Map<Outcome, LongAdder> outcomes = new java.util.EnumMap<>(Outcome.class);
  private final RateLimitedLog delegateLog = RateLimitedLog.perSecond();

  private final Optional<TrustDomain> trustDomain;

  /** @param trustDomain when present, an identity outside it is refused (--trust-domain) */
  PidAttestor(DelegatedIdentityClient client, ScheduledExecutorService scheduler, Duration timeout,
      Optional<TrustDomain> trustDomain) {
    this.client = requireNonNull(client, "client");
    this.trustDomain = requireNonNull(trustDomain, "trustDomain");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.timeout = requireNonNull(timeout, "timeout");
    for (Outcome o : Outcome.values()) {
      outcomes.put(o, new LongAdder());
    }
  }

  @Override
  public CompletableFuture<Attestation> attest(UnixPeer peer, PeerProcess process) {
    CompletableFuture<Attestation> result = new CompletableFuture<>();
    DelegatedIdentityClient.Subscription call = client.subscribeToSvids(peer.pid(),
        new DelegatedIdentityClient.Responses<>() {
          @Override
          public void onMessage(SubscribeToX509SVIDsResponse message) {
            result.complete(judge(message, peer, process));
          }

          @Override
          public void onClose(Status status) {
            result.complete(fromStatus(status, peer));
          }
        });
    ScheduledFuture<?> timer = scheduler.schedule(() -> result.complete(new Unavailable(
        "the SPIRE agent did not attest pid " + peer.pid() + " within " + timeout.toMillis() + " ms")),
        timeout.toNanos(), TimeUnit.NANOSECONDS);
    // Registered after the call exists, so it is cancelled even when the answer came first.
    return result.whenComplete((outcome, failure) -> {
      timer.cancel(false);
      call.cancel(); // attestation needs the first answer only; the workload's own subscription follows it
      outcomes.get(outcome instanceof Attested ? Outcome.ATTESTED
          : outcome instanceof Refused ? Outcome.REFUSED : Outcome.UNAVAILABLE).increment();
    });
  }

  /** Attestations since start, by outcome in lower case. */
  Map<String, Long> outcomes() {
    Map<String, Long> m = new TreeMap<>();
    outcomes.forEach((o, n) -> m.put(o.name().toLowerCase(java.util.Locale.ROOT), n.sum()));
    return m;
  }

  private Attestation judge(SubscribeToX509SVIDsResponse message, UnixPeer peer, PeerProcess process) {
    if (message.getX509SvidsCount() == 0) {
      return new Refused("SPIRE issued no identity to the calling process (" + peer.describe()
          + "): no registration entry matches it");
    }
    List<SpiffeId> ids;
    try {
      ids = DelegatedSvids.parse(message).spiffeIds();
    } catch (MalformedResponseException e) {
      return new Unavailable("the SPIRE agent sent an unusable SVID for " + peer.describe() + ": " + e.getMessage());
    }
    if (trustDomain.isPresent()) {
      for (SpiffeId id : ids) {
        if (!id.memberOf(trustDomain.get())) {
          return new Refused("the identity SPIRE issued to the calling process, " + id + ", is outside trust domain "
              + trustDomain.get().getName() + " (--trust-domain)");
        }
      }
    }
    // SPIRE attested the PID when the call began; the answer counts only if that process still has it.
    Optional<String> gone = process.recheck();
    if (gone.isPresent()) {
      return new Refused("the calling process changed during attestation: " + gone.get());
    }
    return new Attested(ids);
  }

  private Attestation fromStatus(Status status, UnixPeer peer) {
    String detail = status.getCode() + (status.getDescription() == null ? "" : ": " + status.getDescription());
    switch (status.getCode()) {
      case PERMISSION_DENIED:
        // The agent attests Rotor itself on every call: this is Rotor's misconfiguration, not the caller's.
        long skipped = delegateLog.acquire();
        if (skipped >= 0) {
          log.atError().addKeyValue("agent", client.describe()).addKeyValue("suppressed_since_last", skipped)
              .log("the SPIRE agent refuses Rotor on its Delegated Identity API ({}): register Rotor's own process"
                  + " with a SPIFFE ID listed in the agent's authorized_delegates", detail);
        }
        return new Unavailable("the SPIRE agent does not accept this Rotor as a delegate (" + detail + ")");
      case INVALID_ARGUMENT:
        return new Refused("the SPIRE agent cannot attest pid " + peer.pid() + " (" + detail + ")");
      default:
        return new Unavailable("the SPIRE agent could not attest pid " + peer.pid() + " (" + detail + ")");
    }
  }
}
