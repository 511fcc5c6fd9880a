package dev.rotor.transport;

import dev.rotor.transport.PeerIdentity.UnixPeer;
import io.grpc.Attributes;
import io.grpc.Context;

/** The keys under which transports hand the caller's identity to interceptors and services. */
final class PeerContext {

  /** Transport attribute: the SO_PEERCRED credentials of a Unix-socket connection. */
  static final Attributes.Key<UnixPeer> UNIX_PEER = Attributes.Key.create("rotor.unix-peer");

  /** Transport attribute: what SPIRE attested for the connection's process (node mode only). */
  static final Attributes.Key<PeerIdentity.AttestedPeer> ATTESTED_PEER = Attributes.Key.create("rotor.attested-peer");

  /**
   * Transport attribute: why the attestor refused the connection (node mode); every call on it is
   * answered with this status and nothing else.
   */
  static final Attributes.Key<io.grpc.Status> REFUSAL = Attributes.Key.create("rotor.attestation-refusal");

  /** Call context: the authorized caller; read through {@link PeerIdentity#current()}. */
  static final Context.Key<PeerIdentity> PEER_IDENTITY = Context.key("rotor.peer-identity");

  private PeerContext() {}
}
