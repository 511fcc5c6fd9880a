package dev.rotor.gate;

import static java.util.Objects.requireNonNull;

import dev.rotor.gate.GateStatus.Refusal;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.source.IdentityListener;
import io.grpc.SynchronizationContext;
import io.grpc.SynchronizationContext.ScheduledHandle;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stands between an identity source and everything that serves identities: only snapshots that
 * meet every invariant (see {@link RefusalReason}) pass, and the last good one stays in force when
 * a bad one arrives.
 *
 * <p>A refused snapshot is never passed downstream; it is logged at WARN with its reason, SPIFFE ID
 * and serial, and counted. An accepted snapshot whose version differs from the served one becomes
 * current and goes to the {@link ServedIdentityListener}. At the earliest not-after of what it
 * serves the gate withdraws the expired SVIDs (publishing the snapshot without them, bundles kept)
 * so an expired certificate is never served, and reports unhealthy until a valid snapshot arrives.
 *
 * <p>Concurrency: every mutable field below is confined to {@link #syncContext}, a serialized
 * executor in grpc-java's style: calls from any thread queue their work and one thread at a time
 * drains it, in order. Downstream is called from that drain, holding no lock, so a listener that
 * calls back into the gate only queues more work. {@link #status()} reads {@link #view}, an
 * immutable copy republished after every change.
 */
public final class IdentityGate implements IdentityListener, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(IdentityGate.class);

  private final Clock clock;
  private final ScheduledExecutorService scheduler;
  private final ServedIdentityListener downstream;
  private final SnapshotChecks checks;
  private final SynchronizationContext syncContext = new SynchronizationContext(
      (thread, e) -> log.error("identity gate task failed", e));

  // Confined to syncContext.
  private IdentitySnapshot served;
  private ScheduledHandle expiryTimer;
  /** Why health was lost to an expiry withdrawal; null once a valid snapshot was accepted since. */
  private String withdrawal;
  private final EnumMap<RefusalReason, Long> refusals = new EnumMap<>(RefusalReason.class);
  private long sourceErrors;
  private Refusal lastRefusal;
  private boolean closed;

  /** The state {@link #status()} reports; replaced whole from syncContext, read from any thread. */
  private volatile View view = new View(null, null, new EnumMap<>(RefusalReason.class), 0, null);

  private record View(
      IdentitySnapshot served,
      String withdrawal,
      EnumMap<RefusalReason, Long> refusals,
      long sourceErrors,
      Refusal lastRefusal) {}

  public IdentityGate(
      GatePolicy policy, Clock clock, ScheduledExecutorService scheduler, ServedIdentityListener downstream) {
    this.checks = new SnapshotChecks(requireNonNull(policy, "policy"), new SecureRandom());
    this.clock = requireNonNull(clock, "clock");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.downstream = requireNonNull(downstream, "downstream");
  }

  /**
   * Checks {@code candidate} and serves it if it passes. The work runs on the calling thread, unless
   * another thread (or an enclosing call on this one) is already draining the gate's context; then
   * that drain runs it, in arrival order.
   */
  @Override
  public void onSnapshot(IdentitySnapshot candidate) {
    requireNonNull(candidate, "candidate");
    syncContext.execute(() -> consider(candidate));
  }

  @Override
  public void onSourceError(String reason, Throwable cause) {
    syncContext.execute(() -> {
      sourceErrors++;
      log.warn("identity source error (still serving {}): {}",
          served == null ? "nothing" : served.version(), reason, cause);
      publishView();
    });
  }

  /** Health, counters and the served snapshot as of now. Safe from any thread. */
  public GateStatus status() {
    View v = view;
    Optional<String> unhealthy = unhealthyReason(v, clock.instant());
    return new GateStatus(unhealthy.isEmpty(), unhealthy, v.refusals(), v.sourceErrors(),
        Optional.ofNullable(v.lastRefusal()), Optional.ofNullable(v.served()));
  }

  /**
   * Stops the gate: its expiry timer is cancelled and nothing more goes downstream (a node-mode
   * workload whose last stream closed). Idempotent.
   */
  @Override
  public void close() {
    syncContext.execute(() -> {
      closed = true;
      if (expiryTimer != null) {
        expiryTimer.cancel();
        expiryTimer = null;
      }
    });
  }

  private void consider(IdentitySnapshot candidate) {
    if (closed) {
      return;
    }
    Instant now = clock.instant();
    Optional<SnapshotChecks.Failure> failure = checks.check(candidate, now);
    if (failure.isPresent()) {
      refuse(candidate, failure.get(), now);
      return;
    }
    withdrawal = null;
    if (served != null && served.version().equals(candidate.version())) {
      publishView(); // health may be back; nothing new to serve
      return;
    }
    log.info("identity gate serves snapshot {} (was {}): {}", candidate.version(),
        served == null ? "none" : served.version(), candidate.svids());
    serve(candidate);
  }

  private void refuse(IdentitySnapshot candidate, SnapshotChecks.Failure failure, Instant now) {
    refusals.merge(failure.reason(), 1L, Long::sum);
    lastRefusal = new Refusal(failure.reason(), failure.detail(), now);
    log.warn("identity gate refused snapshot {} ({}): {}; still serving {}", candidate.version(), failure.reason(),
        failure.detail(), served == null ? "nothing" : served.version());
    publishView();
  }

  /** Withdraws SVIDs that reached their not-after; runs at the earliest not-after served. */
  private void withdrawExpired() {
    if (served == null || closed) {
      return;
    }
    Instant now = clock.instant();
    List<Svid> remaining = new ArrayList<>();
    List<Svid> expired = new ArrayList<>();
    for (Svid s : served.svids()) {
      (now.isBefore(s.notAfter()) ? remaining : expired).add(s);
    }
    if (expired.isEmpty()) {
      scheduleExpiryCheck(); // the timer fired before the clock reached the not-after
      return;
    }
    if (expired.contains(served.svids().get(0))) {
      // The first SVID is the default identity. Withdrawing only it would promote the next SVID to
      // "default" and hand Envoy a different SPIFFE ID under the same name: fail closed instead.
      expired.addAll(remaining);
      remaining.clear();
    }
    withdrawal = expired.stream()
        .map(s -> s.spiffeId() + " (serial " + s.serialHex() + ") expired at " + s.notAfter())
        .collect(Collectors.joining(", ", "", " with no valid replacement"));
    log.warn("identity gate withdrew expired SVIDs: {}; {} SVIDs left", withdrawal, remaining.size());
    serve(served.withSvids(remaining));
  }

  private void serve(IdentitySnapshot snapshot) {
    served = snapshot;
    scheduleExpiryCheck();
    publishView();
    try {
      downstream.onServed(snapshot);
    } catch (RuntimeException e) {
      log.error("identity gate downstream failed on snapshot {}", snapshot.version(), e);
    }
  }

  private void scheduleExpiryCheck() {
    if (expiryTimer != null) {
      expiryTimer.cancel();
      expiryTimer = null;
    }
    Optional<Instant> earliest = served.earliestSvidExpiry();
    if (earliest.isPresent()) {
      long delayNanos = Math.max(0, Duration.between(clock.instant(), earliest.get()).toNanos());
      expiryTimer = syncContext.schedule(this::withdrawExpired, delayNanos, TimeUnit.NANOSECONDS, scheduler);
    }
  }

  private void publishView() {
    view = new View(served, withdrawal, new EnumMap<>(refusals), sourceErrors, lastRefusal);
  }

  private static Optional<String> unhealthyReason(View v, Instant now) {
    if (v.served() == null) {
      return Optional.of("no identity snapshot accepted yet"
          + (v.lastRefusal() == null ? "" : "; last refusal: " + v.lastRefusal().reason()));
    }
    if (v.withdrawal() != null) {
      return Optional.of("withdrawn: " + v.withdrawal());
    }
    if (v.served().svids().isEmpty()) {
      return Optional.of("the served snapshot has no SVID");
    }
    for (Svid s : v.served().svids()) {
      if (!now.isBefore(s.notAfter())) {
        return Optional.of(s.spiffeId() + " (serial " + s.serialHex() + ") expired at " + s.notAfter());
      }
      if (now.isBefore(s.notBefore())) {
        return Optional.of(s.spiffeId() + " (serial " + s.serialHex() + ") not valid before " + s.notBefore());
      }
    }
    return Optional.empty();
  }
}
