package dev.rotor.demo.frontend;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Calls the backend once per interval on the given scheduler (one thread: calls never overlap),
 * hands every result to {@code sink} (the JSON log line) and keeps the latest for {@code /}.
 */
public final class FrontendLoop {
  private final BackendCaller caller;
  private final Consumer<CallResult> sink;
  private final ScheduledExecutorService scheduler;
  private final Duration interval;
  private final AtomicReference<CallResult> latest = new AtomicReference<>();
  private final AtomicLong successes = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private volatile ScheduledFuture<?> task;

  public FrontendLoop(BackendCaller caller, Consumer<CallResult> sink, ScheduledExecutorService scheduler,
      Duration interval) {
    this.caller = requireNonNull(caller, "caller");
    this.sink = requireNonNull(sink, "sink");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.interval = requireNonNull(interval, "interval");
  }

  /** Starts calling now, then once per interval (fixed rate; a late call runs as soon as the previous ends). */
  public void start() {
    task = scheduler.scheduleAtFixedRate(this::tickQuietly, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One call, recorded and handed to the sink. */
  public CallResult tick() throws InterruptedException {
    CallResult result = caller.call();
    (result.success() ? successes : failures).incrementAndGet();
    latest.set(result);
    sink.accept(result);
    return result;
  }

  private void tickQuietly() {
    try {
      tick();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public Optional<CallResult> latest() {
    return Optional.ofNullable(latest.get());
  }

  public long successes() {
    return successes.get();
  }

  public long failures() {
    return failures.get();
  }

  /** Stops scheduling; a call in flight may finish within {@code grace}. */
  public void stop(Duration grace) throws InterruptedException {
    ScheduledFuture<?> t = task;
    if (t != null) {
      t.cancel(false);
    }
    scheduler.shutdown();
    if (!scheduler.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
      scheduler.shutdownNow();
    }
  }
}
