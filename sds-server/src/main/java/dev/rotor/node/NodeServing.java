package dev.rotor.node;

import static java.util.Objects.requireNonNull;

import dev.rotor.status.RotationConvergence;
import dev.rotor.status.StreamStatus;
import dev.rotor.xds.secret.SecretNaming;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;

/**
 * What every attested workload of a node-mode Rotor is served with, the same for all of them.
 *
 * @param trustDomain when present, every attested identity must be in it (--trust-domain)
 * @param streams every open xDS stream (each workload tracks its rotations' convergence over its own)
 * @param convergence where each workload's rotation outcomes go (metrics)
 */
public record NodeServing(SecretNaming naming, boolean spiffeValidationDisabled, Optional<TrustDomain> trustDomain,
    Clock clock, ScheduledExecutorService scheduler, Supplier<List<StreamStatus>> streams,
    RotationConvergence.Recorder convergence) {

  public NodeServing {
    requireNonNull(naming, "naming");
    requireNonNull(trustDomain, "trustDomain");
    requireNonNull(clock, "clock");
    requireNonNull(scheduler, "scheduler");
    requireNonNull(streams, "streams");
    requireNonNull(convergence, "convergence");
  }
}
