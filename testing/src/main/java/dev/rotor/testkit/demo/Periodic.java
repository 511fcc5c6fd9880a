package dev.rotor.testkit.demo;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A task run again and again, {@code period} after each run ends, on a daemon thread of its own,
 * and stopped gracefully: no new run starts, and the one in flight may finish (an observer cut off
 * mid-attempt would record a failure that never happened), bounded.
 */
final class Periodic implements AutoCloseable {
  private static final Duration FINISH = Duration.ofSeconds(30);

  private final ScheduledExecutorService thread;

  private Periodic(String name) {
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    });
  }

  /** Runs {@code task} now, then {@code period} after each run. */
  static Periodic start(String name, Duration period, Runnable task) {
    Periodic periodic = new Periodic(name);
    periodic.thread.scheduleWithFixedDelay(task, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    return periodic;
  }

  /** Lets the run in flight finish (at most 30 s, then interrupts it) and starts no other. */
  @Override
  public void close() {
    thread.shutdown();
    try {
      if (!thread.awaitTermination(FINISH.toMillis(), TimeUnit.MILLISECONDS)) {
        thread.shutdownNow();
        thread.awaitTermination(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      thread.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
