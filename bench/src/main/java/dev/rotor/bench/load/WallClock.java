package dev.rotor.bench.load;

import java.time.Instant;

/**
 * The clock every process of a benchmark run stamps events with: the host's wall clock
 * (CLOCK_REALTIME, read by {@link Instant#now()} with microsecond resolution on Linux), as
 * nanoseconds since the epoch. {@link System#nanoTime()} cannot be compared across processes; the
 * wall clock can, because all processes run on the same host and read the same kernel clock. Its
 * error across processes is the clock's resolution (1 µs) plus any NTP slew during one rotation
 * (parts per million: nanoseconds over a few hundred milliseconds), negligible next to the figures.
 */
public final class WallClock {
  private WallClock() {}

  public static long nowNanos() {
    return toNanos(Instant.now());
  }

  public static long toNanos(Instant t) {
    return t.getEpochSecond() * 1_000_000_000L + t.getNano();
  }

  public static Instant toInstant(long epochNanos) {
    return Instant.ofEpochSecond(Math.floorDiv(epochNanos, 1_000_000_000L), Math.floorMod(epochNanos, 1_000_000_000L));
  }
}
