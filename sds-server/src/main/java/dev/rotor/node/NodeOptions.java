package dev.rotor.node;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How a node-mode Rotor ({@code rotor serve --node}) reaches SPIRE.
 *
 * @param adminSocket the SPIRE agent's admin socket ({@code admin_socket_path}), where it serves the
 *     Delegated Identity API to its {@code authorized_delegates}
 * @param adminSocketWait how long to wait at start-up for that socket to appear
 * @param attestationTimeout how long a new connection waits for SPIRE to attest its process before
 *     it is closed (UNAVAILABLE; the caller retries)
 */
public record NodeOptions(Path adminSocket, Duration adminSocketWait, Duration attestationTimeout) {

  /** Where the flag that names the socket is, for messages. */
  public static final String FLAG = "--delegated-identity-api";

  public static final Duration DEFAULT_ATTESTATION_TIMEOUT = Duration.ofSeconds(10);

  public NodeOptions {
    requireNonNull(adminSocket, "adminSocket");
    if (!adminSocket.isAbsolute()) {
      throw new IllegalArgumentException("adminSocket: " + adminSocket + " (expected: an absolute path)");
    }
    requireNonNull(adminSocketWait, "adminSocketWait");
    requireNonNull(attestationTimeout, "attestationTimeout");
    if (attestationTimeout.compareTo(Duration.ofMillis(100)) < 0 || attestationTimeout.compareTo(Duration.ofMinutes(1)) > 0) {
      throw new IllegalArgumentException("attestationTimeout: " + attestationTimeout + " (expected: 100ms to 1m)");
    }
  }
}
