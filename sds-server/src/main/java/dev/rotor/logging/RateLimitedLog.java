package dev.rotor.logging;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Decides whether a log line that an outsider can cause at will may be written now: a burst of
 * lines, then one per interval; the rest are suppressed and counted, and the next line written
 * says how many were skipped before it.
 *
 * <p>Why: a UID that is not allowed made Rotor write one WARN line per refused call, 18,574 lines
 * for 20,000 calls (issue 13, finding 5), which fills disks and buries everything else. The
 * counter of suppressed lines goes to metrics, so nothing is lost from view.
 *
 * <p>Thread-safe; the clock is injected.
 */
public final class RateLimitedLog {

  /** Lines written at once before the rate applies. */
  public static final int DEFAULT_BURST = 10;
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);

  private final int burst;
  private final long intervalNanos;
  private final LongSupplier nanoTime;

  // Guarded by "this".
  private double tokens;
  private long lastRefillNanos;
  private long suppressedSinceLast;
  private long suppressedTotal;

  public RateLimitedLog(int burst, Duration interval, LongSupplier nanoTime) {
    if (burst < 1) {
      throw new IllegalArgumentException("burst: " + burst + " (expected: > 0)");
    }
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval: " + interval + " (expected: > 0)");
    }
    this.burst = burst;
    this.intervalNanos = interval.toNanos();
    this.nanoTime = nanoTime;
    this.tokens = burst;
    this.lastRefillNanos = nanoTime.getAsLong();
  }

  /** {@value #DEFAULT_BURST} lines at once, then one a second, on the system's clock. */
  public static RateLimitedLog perSecond() {
    return new RateLimitedLog(DEFAULT_BURST, DEFAULT_INTERVAL, System::nanoTime);
  }

  /**
   * Takes a line's turn: the number of lines suppressed since the last one written (zero or more)
   * when this one may be written, or -1 when it must be suppressed (it is then counted).
   */
  public synchronized long acquire() {
    long now = nanoTime.getAsLong();
    tokens = Math.min(burst, tokens + (double) (now - lastRefillNanos) / intervalNanos);
    lastRefillNanos = now;
    if (tokens < 1) {
      suppressedSinceLast++;
      suppressedTotal++;
      return -1;
    }
    tokens -= 1;
    long skipped = suppressedSinceLast;
    suppressedSinceLast = 0;
    return skipped;
  }

  /** Lines suppressed since this limiter was made. */
  public synchronized long suppressed() {
    return suppressedTotal;
  }
}
