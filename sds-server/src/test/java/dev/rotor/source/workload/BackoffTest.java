package dev.rotor.source.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.source.workload.Backoff.Jitter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {

  /** A Random whose nextDouble() is fixed, so jitter bounds can be asserted exactly. */
  private static Random fixed(double value) {
    return new Random() {
      @Override
      public double nextDouble() {
        return value;
      }
    };
  }

  private static List<Duration> delays(Backoff backoff, int n) {
    List<Duration> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(backoff.nextDelay());
    }
    return out;
  }

  private static final Duration MS_200 = Duration.ofMillis(200);
  private static final Duration S_10 = Duration.ofSeconds(10);

  @Test
  void upperBoundOfJitter_growsByMultiplierAndIsCapped() {
    Backoff backoff = new Backoff(MS_200, 2, S_10, Jitter.FULL, fixed(1.0));
    assertThat(delays(backoff, 9)).extracting(Duration::toMillis)
        .containsExactly(200L, 400L, 800L, 1600L, 3200L, 6400L, 10_000L, 10_000L, 10_000L);
  }

  @Test
  void fullJitter_lowerBoundIsZero() {
    Backoff backoff = new Backoff(MS_200, 2, S_10, Jitter.FULL, fixed(0.0));
    assertThat(delays(backoff, 8)).allMatch(Duration::isZero);
  }

  @Test
  void equalJitter_lowerBoundIsHalfTheDelay() {
    Backoff backoff = new Backoff(MS_200, 2, S_10, Jitter.EQUAL, fixed(0.0));
    assertThat(delays(backoff, 8)).extracting(Duration::toMillis)
        .containsExactly(100L, 200L, 400L, 800L, 1600L, 3200L, 5000L, 5000L);
  }

  @Test
  void equalJitter_seededRandom_staysWithinBoundsOfEachStep() {
    Backoff backoff = Backoff.withDefaults(new Random(7));
    long base = 200;
    for (Duration d : delays(backoff, 20)) {
      assertThat(d.toMillis()).isBetween(base / 2, base);
      base = Math.min(10_000, base * 2);
    }
  }

  @Test
  void sameSeed_sameDelays_differentSeed_differentDelays() {
    List<Duration> a = delays(Backoff.withDefaults(new Random(42)), 12);
    List<Duration> b = delays(Backoff.withDefaults(new Random(42)), 12);
    List<Duration> c = delays(Backoff.withDefaults(new Random(43)), 12);
    assertThat(a).isEqualTo(b);
    assertThat(a).isNotEqualTo(c);
  }

  @Test
  void cappedDelays_areStillJittered() {
    Backoff backoff = Backoff.withDefaults(new Random(1));
    List<Duration> capped = delays(backoff, 30).subList(10, 30);
    assertThat(new HashSet<>(capped)).hasSizeGreaterThan(10);
  }

  @Test
  void reset_startsOverAtInitialDelay() {
    Backoff backoff = new Backoff(MS_200, 2, S_10, Jitter.FULL, fixed(1.0));
    delays(backoff, 5);
    backoff.reset();
    assertThat(backoff.nextDelay()).isEqualTo(MS_200);
    assertThat(backoff.nextDelay()).isEqualTo(Duration.ofMillis(400));
  }

  @Test
  void constructor_rejectsNonsense() {
    Random r = new Random(1);
    assertThatThrownBy(() -> new Backoff(Duration.ZERO, 2, S_10, Jitter.EQUAL, r))
        .hasMessage("initial: PT0S (expected: > 0)");
    assertThatThrownBy(() -> new Backoff(MS_200, 0.5, S_10, Jitter.EQUAL, r))
        .hasMessage("multiplier: 0.5 (expected: a finite number >= 1)");
    assertThatThrownBy(() -> new Backoff(MS_200, 2, Duration.ofMillis(100), Jitter.EQUAL, r))
        .hasMessage("max: PT0.1S (expected: >= initial PT0.2S)");
  }
}
