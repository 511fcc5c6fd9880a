package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.util.Optional;

/**
 * Who is calling, as authenticated by the transport the call arrived on. Set in the gRPC {@link
 * io.grpc.Context} of every call that passed authorization, so services can log it (and only
 * ever see authorized callers).
 */
public sealed interface PeerIdentity permits PeerIdentity.UnixPeer, PeerIdentity.SpiffePeer {

  /** The caller of the current gRPC call; empty outside a call handled by a Rotor transport. */
  static Optional<PeerIdentity> current() {
    return Optional.ofNullable(PeerContext.PEER_IDENTITY.get());
  }

  /** A short form for log lines, e.g. {@code uid=1000 pid=42} or a SPIFFE ID. */
  String describe();

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
  }

  /** A caller on the mutual-TLS listener, identified by the SPIFFE ID of its verified X.509-SVID. */
  record SpiffePeer(SpiffeId spiffeId) implements PeerIdentity {
    public SpiffePeer {
      requireNonNull(spiffeId, "spiffeId");
    }

    @Override
    public String describe() {
      return spiffeId.toString();
    }
  }
}
