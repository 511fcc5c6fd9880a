package dev.rotor.status;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Any;
import dev.rotor.xds.CertificateInfo;
import java.time.Instant;
import java.util.Optional;

/**
 * One resource on one stream, as of one moment. Holds a resource's encoded body only for
 * listeners and clusters (for CSDS); a secret is names, versions and certificate facts only, never
 * its body, which holds a private key.
 *
 * @param name the resource name
 * @param state see {@link State}
 * @param sentVersion the version last sent ("" if none)
 * @param ackedVersion the version last ACKed ("" if none): what the client runs
 * @param ackedCertificate for a TLS certificate secret, the certificate the client ACKed
 * @param config the ACKed body of a listener or cluster, else the sent one; always empty for secrets
 * @param nack the NACK of the sent version, while that is the newest version sent
 * @param updatedAt when the state last changed
 */
public record ResourceStatus(String name, State state, String sentVersion, String ackedVersion,
    Optional<CertificateInfo> ackedCertificate, Optional<Any> config, Optional<TypeStatus.Nack> nack,
    Instant updatedAt) {

  public ResourceStatus {
    requireNonNull(name, "name");
    requireNonNull(state, "state");
    requireNonNull(sentVersion, "sentVersion");
    requireNonNull(ackedVersion, "ackedVersion");
    requireNonNull(ackedCertificate, "ackedCertificate");
    requireNonNull(config, "config");
    requireNonNull(nack, "nack");
    requireNonNull(updatedAt, "updatedAt");
  }

  /** A resource's state on one stream. */
  public enum State {
    /** Subscribed; nothing sent: the resource does not exist (yet). */
    REQUESTED,
    /** Sent; neither ACK nor NACK has arrived. */
    SENT,
    /** The client ACKed the version sent last. */
    ACKED,
    /** The client NACKed the version sent last; it still runs {@code ackedVersion}, if any. */
    NACKED
  }
}
