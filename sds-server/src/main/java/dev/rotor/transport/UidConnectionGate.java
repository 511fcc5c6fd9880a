package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.logging.RateLimitedLog;
import dev.rotor.transport.PeerIdentity.UnixPeer;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admits each Unix-socket connection by its caller's UID (SO_PEERCRED), before any HTTP/2 or gRPC
 * state exists for it: a UID that is not allowed, and a connection past the limits, is refused and
 * closed at once.
 *
 * <p>Why at the connection and not per call: a refused UID used to get an HTTP/2 connection whose
 * every call was answered PERMISSION_DENIED, and it could keep any number of them; 2 × 10,500
 * exhausted Rotor's file descriptors and 8,000 made it run out of memory under the demo's JVM
 * options (issue 13, finding 5). Allowed UIDs are capped too, in total and each, so one of them
 * cannot take every descriptor from the others.
 *
 * <p>Refusals are counted by {@link Refusal} and logged through a {@link RateLimitedLog}: whoever
 * is refused decides how often.
 */
final class UidConnectionGate {

  private static final Logger log = LoggerFactory.getLogger(UidConnectionGate.class);

  /** Why a connection was refused. */
  enum Refusal {
    UID_NOT_ALLOWED,
    NO_PEER_CREDENTIALS,
    /** {@code --max-connections}: the socket's connections in all. */
    CONNECTION_LIMIT,
    /** {@code --max-connections-per-uid}: one allowed UID's connections. */
    UID_CONNECTION_LIMIT
  }

  /** The outcome for one connection: admitted (release it when it closes) or refused. */
  sealed interface Decision permits Admitted, Refused {}

  /** Holds one place within the limits until {@link #release()}, which is idempotent. */
  static final class Admitted implements Decision {
    private final Runnable onRelease;
    private final AtomicBoolean released = new AtomicBoolean();

    private Admitted(Runnable onRelease) {
      this.onRelease = onRelease;
    }

    void release() {
      if (released.compareAndSet(false, true)) {
        onRelease.run();
      }
    }
  }

  /** @param description what the caller is told (no internals: the limit's flag and value, or its UID) */
  record Refused(Refusal reason, String description) implements Decision {}

  private final Set<Integer> allowedUids;
  private final int maxConnections;
  private final int maxPerUid;
  private final RateLimitedLog refusalLog;
  private final AtomicInteger open = new AtomicInteger();
  /** Keys are allowed UIDs only, so the map is bounded by --allowed-uid. */
  private final Map<Integer, AtomicInteger> openByUid = new ConcurrentHashMap<>();
  private final Map<Refusal, LongAdder> refusals = new EnumMap<>(Refusal.class);

  UidConnectionGate(Set<Integer> allowedUids, int maxConnections, int maxPerUid, RateLimitedLog refusalLog) {
    this.allowedUids = Collections.unmodifiableSet(new TreeSet<>(requireNonNull(allowedUids, "allowedUids")));
    this.maxConnections = maxConnections;
    this.maxPerUid = maxPerUid;
    this.refusalLog = requireNonNull(refusalLog, "refusalLog");
    for (Refusal r : Refusal.values()) {
      refusals.put(r, new LongAdder());
    }
  }

  Decision admit(UnixPeer peer) {
    if (!allowedUids.contains(peer.uid())) {
      return refuse(peer, Refusal.UID_NOT_ALLOWED, "caller UID " + peer.uid() + " is not allowed");
    }
    if (open.incrementAndGet() > maxConnections) {
      open.decrementAndGet();
      return refuse(peer, Refusal.CONNECTION_LIMIT, "too many connections to Rotor's socket (limit "
          + maxConnections + ", --max-connections)");
    }
    AtomicInteger mine = openByUid.computeIfAbsent(peer.uid(), k -> new AtomicInteger());
    if (mine.incrementAndGet() > maxPerUid) {
      mine.decrementAndGet();
      open.decrementAndGet();
      return refuse(peer, Refusal.UID_CONNECTION_LIMIT, "too many connections from UID " + peer.uid() + " (limit "
          + maxPerUid + ", --max-connections-per-uid)");
    }
    return new Admitted(() -> {
      mine.decrementAndGet();
      open.decrementAndGet();
    });
  }

  /** The connection's credentials could not be read: it is closed, never served. */
  void refuseUnknownPeer(String why) {
    refusals.get(Refusal.NO_PEER_CREDENTIALS).increment();
    long skipped = refusalLog.acquire();
    if (skipped >= 0) {
      log.atWarn().addKeyValue("reason", "no_peer_credentials").addKeyValue("suppressed_since_last", skipped)
          .log("closing a Unix-socket connection: cannot read its peer credentials (SO_PEERCRED): {}", why);
    }
  }

  /** Logs a refused call (the interceptor's check behind this gate) under the same rate limit. */
  void logDeniedCall(String method, String caller, String why) {
    long skipped = refusalLog.acquire();
    if (skipped >= 0) {
      log.atWarn().addKeyValue("method", method).addKeyValue("peer", caller)
          .addKeyValue("suppressed_since_last", skipped).log("denied {} to {}: {}", method, caller, why);
    }
  }

  private Refused refuse(UnixPeer peer, Refusal reason, String description) {
    refusals.get(reason).increment();
    long skipped = refusalLog.acquire();
    if (skipped >= 0) {
      log.atWarn().addKeyValue("reason", reason.name().toLowerCase(java.util.Locale.ROOT))
          .addKeyValue("peer", peer.describe()).addKeyValue("suppressed_since_last", skipped)
          .log("refused a Unix-socket connection from {}: {}{}", peer.describe(), description,
              reason == Refusal.UID_NOT_ALLOWED ? " (allowed: " + allowedUids + ", --allowed-uid)" : "");
    }
    return new Refused(reason, description);
  }

  /** Connections refused since start, by reason. */
  Map<Refusal, Long> refusals() {
    Map<Refusal, Long> m = new EnumMap<>(Refusal.class);
    refusals.forEach((r, n) -> m.put(r, n.sum()));
    return m;
  }

  /** Connections admitted and still open. */
  int open() {
    return open.get();
  }

  /** Refusal lines not written because of the rate limit. */
  long suppressedLogLines() {
    return refusalLog.suppressed();
  }
}
