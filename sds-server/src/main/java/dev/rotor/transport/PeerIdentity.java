package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.util.List;
import java.util.Optional;

/**
 * Who is calling, as authenticated by the transport the call arrived on. Set in the gRPC {@link
 * io.grpc.Context} of every call that passed authorization, so services can log it (and only
 * ever see authorized callers).
 */
public sealed interface PeerIdentity permits PeerIdentity.UnixPeer, PeerIdentity.SpiffePeer, PeerIdentity.AttestedPeer {

  /** The caller of the current gRPC call; empty outside a call handled by a Rotor transport. */
  static Optional<PeerIdentity> current() {
    return Optional.ofNullable(PeerContext.PEER_IDENTITY.get());
  }

  /** A short form for log lines, e.g. {@code uid=1000 pid=42} or a SPIFFE ID. */
  String describe();

  /**
   * Checks again what admitted this caller: empty while it still holds, else why not (for the
   * operator's log).
   */
  Optional<String> recheck();

  /**
   * A caller on the Unix domain socket, as the kernel reported it (SO_PEERCRED) when it
   * connected. The UID is what authorization uses; the PID is informative only (it may be 0 if
   * the caller is in a PID namespace this process cannot see).
   */
  record UnixPeer(int uid, int gid, int pid) implements PeerIdentity {
    @Override
    public String describe() {
      return "uid=" + uid + " gid=" + gid + " pid=" + pid;
    }

    /** The kernel reported the UID of the process at the other end of this connection; it does not lapse. */
    @Override
    public Optional<String> recheck() {
      return Optional.empty();
    }
  }

  /**
   * A caller on the mutual-TLS listener, identified by the SPIFFE ID of its verified X.509-SVID.
   *
   * @param chain what it presented in its handshake, verified again on {@link #recheck()}
   */
  record SpiffePeer(SpiffeId spiffeId, VerifiedChain chain) implements PeerIdentity {
    public SpiffePeer {
      requireNonNull(spiffeId, "spiffeId");
      requireNonNull(chain, "chain");
    }

    @Override
    public String describe() {
      return spiffeId.toString();
    }

    /** Its certificate chain against the bundles and time of now (expired, CA gone, no longer allowed). */
    @Override
    public Optional<String> recheck() {
      return chain.recheck();
    }
  }

  /**
   * A caller on the Unix domain socket whose process SPIRE attested when it connected (node mode):
   * it holds {@code spiffeIds} and nothing else.
   *
   * @param connection a number for the connection, unique in this process, so a caller's streams
   *     can be told apart by the connection (and so the process) they arrived on
   */
  record AttestedPeer(UnixPeer unix, List<SpiffeId> spiffeIds, PeerProcess process, long connection)
      implements PeerIdentity {
    public AttestedPeer {
      requireNonNull(unix, "unix");
      spiffeIds = List.copyOf(requireNonNull(spiffeIds, "spiffeIds"));
      requireNonNull(process, "process");
    }

    @Override
    public String describe() {
      return spiffeIds.get(0) + " (" + unix.describe() + ")";
    }

    /** Whether the process attested is still the one alive under its PID ({@link PeerProcess#recheck()}). */
    @Override
    public Optional<String> recheck() {
      return process.recheck();
    }
  }
}
