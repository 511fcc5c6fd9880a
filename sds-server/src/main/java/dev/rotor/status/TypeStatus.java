package dev.rotor.status;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Collections;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One type's sub-stream of one stream (e.g. the secrets on an ADS stream), as of one moment.
 *
 * @param typeUrl the resource type
 * @param subscribed names the client asked for explicitly
 * @param wildcard whether it also asked for everything it may see
 * @param lastSent the newest response on this sub-stream
 * @param lastAck the newest ACK
 * @param lastNack the newest NACK, kept after later ACKs so an operator still sees what happened
 * @param resources per resource name
 */
public record TypeStatus(String typeUrl, Set<String> subscribed, boolean wildcard, Optional<Event> lastSent,
    Optional<Event> lastAck, Optional<Nack> lastNack, SortedMap<String, ResourceStatus> resources) {

  public TypeStatus {
    requireNonNull(typeUrl, "typeUrl");
    subscribed = Collections.unmodifiableSet(new TreeSet<>(requireNonNull(subscribed, "subscribed")));
    requireNonNull(lastSent, "lastSent");
    requireNonNull(lastAck, "lastAck");
    requireNonNull(lastNack, "lastNack");
    resources = Collections.unmodifiableSortedMap(new TreeMap<>(requireNonNull(resources, "resources")));
  }

  /**
   * Where this sub-stream stands, worst first: NACKED when the newest response was rejected,
   * NOT_SENT when a subscribed resource was never sent (it does not exist, yet) or nothing was
   * sent at all, STALE when the newest response awaits its ACK, SYNCED when it was ACKed.
   */
  public SyncState state() {
    if (lastSent.isEmpty()) {
      return SyncState.NOT_SENT;
    }
    String nonce = lastSent.get().nonce();
    if (lastNack.isPresent() && lastNack.get().nonce().equals(nonce)) {
      return SyncState.NACKED;
    }
    if (resources.values().stream().anyMatch(r -> r.state() == ResourceStatus.State.REQUESTED)) {
      return SyncState.NOT_SENT;
    }
    if (lastAck.isPresent() && lastAck.get().nonce().equals(nonce)) {
      return SyncState.SYNCED;
    }
    return SyncState.STALE;
  }

  /** Where a type stands for one Envoy, in the spirit of {@code istioctl proxy-status}. */
  public enum SyncState {
    /** The newest response was ACKed. */
    SYNCED,
    /** A response was sent and its ACK has not arrived. */
    STALE,
    /** Nothing was sent, or a subscribed resource does not exist (yet). */
    NOT_SENT,
    /** The newest response was NACKed; Rotor sends again only on the next real change. */
    NACKED;

    /** Severity for aggregating several streams of one Envoy: the worst wins. */
    public int severity() {
      switch (this) {
        case NACKED:
          return 3;
        case NOT_SENT:
          return 2;
        case STALE:
          return 1;
        default:
          return 0;
      }
    }
  }

  /** A response sent or an ACK received: the response's version_info and nonce. */
  public record Event(String version, String nonce, Instant at) {
    public Event {
      requireNonNull(version, "version");
      requireNonNull(nonce, "nonce");
      requireNonNull(at, "at");
    }
  }

  /**
   * A NACK.
   *
   * @param rejectedVersion the version_info of the response the client rejected (as Rotor sent it)
   * @param nonce that response's nonce
   * @param error the client's error_detail message
   * @param at when the NACK arrived
   */
  public record Nack(String rejectedVersion, String nonce, String error, Instant at) {
    public Nack {
      requireNonNull(rejectedVersion, "rejectedVersion");
      requireNonNull(nonce, "nonce");
      requireNonNull(error, "error");
      requireNonNull(at, "at");
    }
  }
}
