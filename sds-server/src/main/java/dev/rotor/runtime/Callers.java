package dev.rotor.runtime;

import dev.rotor.protocol.Caller;
import dev.rotor.transport.PeerIdentity;
import dev.rotor.transport.PeerIdentity.AttestedPeer;
import dev.rotor.transport.PeerIdentity.SpiffePeer;
import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.grpc.Status;

/**
 * The one place where how a transport authenticated a caller becomes what its calls may receive
 * (docs/operations.md, "What each transport may receive"): a UID on the pod's Unix socket is the
 * pod's own Envoy; a SPIFFE ID proved over TCP is one workload, entitled to its own things only; so
 * is a process SPIRE attested on a node-mode Rotor's socket.
 */
final class Callers {

  private Callers() {}

  /**
   * The caller of the current gRPC call.
   *
   * @throws io.grpc.StatusRuntimeException PERMISSION_DENIED outside a call a Rotor transport
   *     authorized (never in a running Rotor: both transports set the peer before any service runs)
   */
  static Caller current() {
    PeerIdentity peer = PeerIdentity.current().orElseThrow(() -> Status.PERMISSION_DENIED
        .withDescription("caller not authenticated").asRuntimeException());
    if (peer instanceof UnixPeer unix) {
      return new Caller.PodLocal(unix.describe());
    }
    if (peer instanceof AttestedPeer attested) {
      return new Caller.Attested(attested.spiffeIds(), new Caller.Process(attested.connection(),
          attested.unix().pid(), attested.unix().describe(), attested::recheck));
    }
    SpiffePeer remote = (SpiffePeer) peer; // fails closed should PeerIdentity gain a kind
    return new Caller.Remote(remote.spiffeId(), remote::recheck);
  }
}
