package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.spiffe.spiffeid.SpiffeId;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Tells who a Unix-socket caller is beyond its UID, once per connection, before any of its calls
 * is served (node mode: SPIRE's agent attests the caller's PID). The transport holds the
 * connection unread while it waits; on anything but {@link Attested} every call on the connection
 * is refused before any service sees it (PERMISSION_DENIED or UNAVAILABLE, with the reason) and
 * the connection is closed a second later.
 */
@FunctionalInterface
public interface PeerAttestor {

  /**
   * Attests the caller {@code peer}, whose process is {@code process} (open for as long as the
   * connection). Must not block; the future may complete on any thread.
   */
  CompletableFuture<Attestation> attest(UnixPeer peer, PeerProcess process);

  /** The outcome for one connection. */
  sealed interface Attestation permits Attested, Refused, Unavailable {}

  /**
   * The caller holds these identities, in SPIRE's order (the first is its default).
   *
   * @param spiffeIds never empty
   */
  record Attested(List<SpiffeId> spiffeIds) implements Attestation {
    public Attested {
      spiffeIds = List.copyOf(requireNonNull(spiffeIds, "spiffeIds"));
      if (spiffeIds.isEmpty()) {
        throw new IllegalArgumentException("spiffeIds: empty (expected: at least one attested identity)");
      }
    }
  }

  /**
   * The caller has no identity (nothing registered for it, or its process went away): refused with
   * PERMISSION_DENIED.
   *
   * @param reason what the caller and the log are told; no internals
   */
  record Refused(String reason) implements Attestation {}

  /** The attestor could not answer now (SPIRE's agent unreachable): UNAVAILABLE, the caller retries. */
  record Unavailable(String reason) implements Attestation {}
}
