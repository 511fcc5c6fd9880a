package dev.rotor.source.workload;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Random;

/**
 * Exponential backoff with jitter for reconnecting to the Workload API. The un-jittered delay
 * starts at {@code initial}, is multiplied after every attempt and capped at {@code max}; the
 * delay handed out is jittered from the injected {@link Random} so many workloads restarted
 * together do not reconnect to the agent in lock-step.
 *
 * <p>Not thread-safe: its owner calls it from one serialized context.
 */
public final class Backoff {

  /** How the delay of one attempt is drawn from its un-jittered value {@code d}. */
  enum Jitter {
    /** Uniform in [0, d): spreads retries most, but may retry almost at once. */
    FULL,
    /** Uniform in [d/2, d): keeps at least half the delay, so an absent agent is not hammered. */
    EQUAL
  }

  static final Duration DEFAULT_INITIAL = Duration.ofMillis(200);
  static final double DEFAULT_MULTIPLIER = 2.0;
  static final Duration DEFAULT_MAX = Duration.ofSeconds(10);

  private final long initialNanos;
  private final double multiplier;
  private final long maxNanos;
  private final Jitter jitter;
  private final Random random;

  private long nextBaseNanos;

  Backoff(Duration initial, double multiplier, Duration max, Jitter jitter, Random random) {
    requireNonNull(initial, "initial");
    requireNonNull(max, "max");
    this.jitter = requireNonNull(jitter, "jitter");
    this.random = requireNonNull(random, "random");
    if (initial.isNegative() || initial.isZero()) {
      throw new IllegalArgumentException("initial: " + initial + " (expected: > 0)");
    }
    if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
      throw new IllegalArgumentException("multiplier: " + multiplier + " (expected: a finite number >= 1)");
    }
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("max: " + max + " (expected: >= initial " + initial + ")");
    }
    this.initialNanos = initial.toNanos();
    this.multiplier = multiplier;
    this.maxNanos = max.toNanos();
    this.nextBaseNanos = initialNanos;
  }

  /** 200 ms, doubling, capped at 10 s, equal jitter. */
  public static Backoff withDefaults(Random random) {
    return new Backoff(DEFAULT_INITIAL, DEFAULT_MULTIPLIER, DEFAULT_MAX, Jitter.EQUAL, random);
  }

  /** The delay before the next attempt; each call moves one step up the curve. */
  public Duration nextDelay() {
    long base = nextBaseNanos;
    nextBaseNanos = (long) Math.min((double) maxNanos, base * multiplier);
    long jittered;
    switch (jitter) {
      case FULL:
        jittered = (long) (random.nextDouble() * base);
        break;
      case EQUAL:
        long half = base / 2;
        jittered = half + (long) (random.nextDouble() * (base - half));
        break;
      default:
        throw new AssertionError(jitter);
    }
    return Duration.ofNanos(jittered);
  }

  /** Back to the initial delay; called after the agent answered well. */
  public void reset() {
    nextBaseNanos = initialNanos;
  }
}
