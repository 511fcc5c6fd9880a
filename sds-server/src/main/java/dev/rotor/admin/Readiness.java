package dev.rotor.admin;

import static java.util.Objects.requireNonNull;

import dev.rotor.gate.GateStatus;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Whether this Rotor should receive traffic ({@code /readyz}): it serves an identity that passed
 * the gate, is valid now and does not expire within the margin, nothing else keeps it from serving
 * (the policy asked for is in force and its watcher runs, the socket is still its own), and it is not
 * shutting down. Every failing condition is reported, not just the first.
 */
public final class Readiness {

  /** The verdict and, when not ready, every reason. */
  public record Result(boolean ready, List<String> reasons) {
    public Result {
      reasons = List.copyOf(reasons);
      if (ready != reasons.isEmpty()) {
        throw new IllegalArgumentException("reasons: " + reasons + " (expected: present exactly when not ready)");
      }
    }
  }

  private final Supplier<GateStatus> gate;
  private final Duration margin;
  private final Clock clock;
  private final Supplier<List<String>> servingProblems;
  private final BooleanSupplier stopping;

  /**
   * @param servingProblems what else keeps this Rotor from serving, one reason each: the policy
   *     asked for is not in force or no longer followed, the socket was taken over
   * @param stopping true once shutdown began
   */
  public Readiness(Supplier<GateStatus> gate, Duration margin, Clock clock, Supplier<List<String>> servingProblems,
      BooleanSupplier stopping) {
    this.gate = requireNonNull(gate, "gate");
    this.margin = requireNonNull(margin, "margin");
    this.clock = requireNonNull(clock, "clock");
    this.servingProblems = requireNonNull(servingProblems, "servingProblems");
    this.stopping = requireNonNull(stopping, "stopping");
  }

  public Result check() {
    List<String> reasons = new ArrayList<>();
    if (stopping.getAsBoolean()) {
      reasons.add("shutting down");
    }
    GateStatus g = gate.get();
    Optional<IdentitySnapshot> served = g.current();
    if (served.isEmpty()) {
      reasons.add("no identity received yet" + g.lastRefusal()
          .map(r -> " (last refused: " + r.reason() + ": " + r.detail() + ")").orElse(""));
    } else if (!g.healthy()) {
      reasons.add("identity not valid: " + g.unhealthyReason().orElse("unknown"));
    } else {
      Instant now = clock.instant();
      for (Svid s : served.get().svids()) {
        Duration left = Duration.between(now, s.notAfter());
        if (left.compareTo(margin) < 0) {
          reasons.add(s.spiffeId() + " (serial " + s.serialHex() + ") expires in " + left.toSeconds()
              + "s, within --ready-expiry-margin " + margin.toSeconds() + "s, and no newer identity arrived");
        }
      }
    }
    reasons.addAll(servingProblems.get());
    return new Result(reasons.isEmpty(), reasons);
  }
}
