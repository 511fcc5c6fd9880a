package dev.rotor.source.dev;

import static java.util.Objects.requireNonNull;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.source.IdentityListener;
import dev.rotor.source.IdentitySource;
import io.grpc.SynchronizationContext;
import io.grpc.SynchronizationContext.ScheduledHandle;
import io.spiffe.spiffeid.SpiffeId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link IdentitySource} backed by an in-memory {@link DevCa}: {@code rotor serve --dev}.
 *
 * <p>On start it issues one SVID per configured SPIFFE ID (the first is the default) and delivers
 * them with the CA's bundle. It re-issues all SVIDs at half of their lifetime, and on every CA
 * rotation period it replaces the CA, re-issues under the new CA and delivers a bundle holding both
 * CAs; when the overlap ends it delivers the same SVIDs with only the new CA.
 *
 * <p>Concurrency: every mutable field is confined to {@link #syncContext}; timers are scheduled on
 * the injected scheduler and run their work on that context, so the listener sees snapshots in
 * the order they were made and is never called while this class holds a lock.
 */
public final class DevCaSource implements IdentitySource {

  private static final Logger log = LoggerFactory.getLogger(DevCaSource.class);

  /** Delay before trying again after an issuance failure. */
  static final Duration RETRY_DELAY = Duration.ofSeconds(10);

  private final DevCaOptions options;
  private final Clock clock;
  private final ScheduledExecutorService scheduler;
  private final DevCa ca;
  private final AtomicBoolean started = new AtomicBoolean();
  private final SynchronizationContext syncContext = new SynchronizationContext(
      (thread, e) -> log.error("dev CA source task failed", e));

  // Confined to syncContext.
  private IdentityListener listener;
  private List<Svid> svids = List.of();
  private String lastDeliveredVersion = "";
  private ScheduledHandle reissueTimer;
  private ScheduledHandle rotationTimer;
  private ScheduledHandle overlapTimer;
  private boolean closed;

  public DevCaSource(DevCaOptions options, Clock clock, ScheduledExecutorService scheduler) {
    this.options = requireNonNull(options, "options");
    this.clock = requireNonNull(clock, "clock");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.ca = new DevCa(options.trustDomain(), options.caTtl(), options.caOverlap(), clock);
  }

  @Override
  public void start(IdentityListener listener) {
    requireNonNull(listener, "listener");
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("start: already started (expected: called once)");
    }
    syncContext.execute(() -> {
      if (closed) {
        return;
      }
      this.listener = listener;
      Duration period = options.caRotationPeriod();
      if (!period.isZero()) {
        rotationTimer = syncContext.scheduleWithFixedDelay(
            this::rotateCa, period.toNanos(), period.toNanos(), TimeUnit.NANOSECONDS, scheduler);
      }
      issueAll();
    });
  }

  @Override
  public String describe() {
    return "dev-ca " + options.trustDomain().toIdString()
        + " (svids=" + options.spiffeIds().size() + ", svidTtl=" + options.svidTtl()
        + ", caRotationPeriod=" + options.caRotationPeriod() + ")";
  }

  @Override
  public void close() {
    syncContext.execute(() -> {
      closed = true;
      cancel(reissueTimer);
      cancel(rotationTimer);
      cancel(overlapTimer);
    });
  }

  private void rotateCa() {
    if (closed) {
      return;
    }
    ca.rotateCa();
    log.info("dev CA of {} rotated: new CA serial {}, previous CA stays in the bundle for {}",
        options.trustDomain().getName(), ca.caCertificate().getSerialNumber().toString(16), options.caOverlap());
    issueAll();
    if (!options.caOverlap().isZero()) {
      cancel(overlapTimer);
      overlapTimer = schedule(this::endOverlap, options.caOverlap());
    }
  }

  /** Delivers the bundle without the retired CA once its overlap is over. */
  private void endOverlap() {
    if (closed) {
      return;
    }
    Instant now = clock.instant();
    Optional<Instant> end = ca.overlapEndsAt();
    if (end.isPresent() && now.isBefore(end.get())) {
      // The timer's clock ran slightly ahead of the wall clock; wait for the rest.
      overlapTimer = schedule(this::endOverlap, Duration.between(now, end.get()));
      return;
    }
    deliver();
  }

  private void issueAll() {
    if (closed) {
      return;
    }
    cancel(reissueTimer);
    Instant now = clock.instant();
    Instant caNotAfter = ca.caNotAfter();
    if (Duration.between(now, caNotAfter).compareTo(DevCaOptions.MIN_TTL) < 0) {
      // Only reachable with caRotationPeriod = 0: nothing will renew the CA, so stop re-issuing.
      listener.onSourceError("dev CA of " + options.trustDomain().getName() + " expires at " + caNotAfter
          + " and can no longer issue SVIDs; set a CA rotation period",
          new IllegalStateException("dev CA expires at " + caNotAfter));
      return;
    }
    List<Svid> issued = new ArrayList<>(options.spiffeIds().size());
    try {
      for (SpiffeId id : options.spiffeIds()) {
        issued.add(ca.issue(id, options.svidTtl(), options.dnsNames()));
      }
    } catch (RuntimeException e) {
      reissueTimer = schedule(this::issueAll, RETRY_DELAY);
      listener.onSourceError("dev CA of " + options.trustDomain().getName() + " could not issue SVIDs", e);
      return;
    }
    svids = List.copyOf(issued);
    Instant earliestNotAfter = svids.stream().map(Svid::notAfter).min(Comparator.naturalOrder()).orElseThrow();
    // Half of the lifetime actually granted (it is shorter than svidTtl when capped by the CA).
    reissueTimer = schedule(this::issueAll, Duration.between(now, earliestNotAfter).dividedBy(2));
    for (Svid s : svids) {
      log.info("dev CA issued {} serial {} notAfter {}", s.spiffeId(), s.serialHex(), s.notAfter());
    }
    deliver();
  }

  private void deliver() {
    IdentitySnapshot snapshot = IdentitySnapshot.of(svids, Map.of(options.trustDomain(), ca.bundle()));
    if (snapshot.version().equals(lastDeliveredVersion)) {
      return; // e.g. an overlap end that coincides with a re-issue already delivered without the old CA
    }
    lastDeliveredVersion = snapshot.version();
    try {
      listener.onSnapshot(snapshot);
    } catch (RuntimeException e) {
      log.error("identity listener failed on snapshot {}", snapshot.version(), e);
    }
  }

  private ScheduledHandle schedule(Runnable task, Duration delay) {
    return syncContext.schedule(task, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS, scheduler);
  }

  private static void cancel(ScheduledHandle handle) {
    if (handle != null) {
      handle.cancel();
    }
  }
}
