package dev.rotor.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A fake clock and scheduler for unit tests: time moves only when the test calls {@link
 * #advance}; due tasks then run on the calling thread, in time order. Never sleeps.
 *
 * <p>Thread-safe enough for code under test that schedules from other threads; tasks always run on
 * the thread that calls {@link #advance} or {@link #runDueTasks}.
 */
public final class FakeScheduler extends AbstractExecutorService implements ScheduledExecutorService {

  private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
  private long nowNanos;
  private long sequence;
  private final Instant epoch;
  private boolean shutdown;

  public FakeScheduler() {
    this(Instant.parse("2026-01-01T00:00:00Z"));
  }

  public FakeScheduler(Instant start) {
    this.epoch = start;
  }

  /** A {@link Clock} that reads this scheduler's time. */
  public Clock clock() {
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return now();
      }
    };
  }

  public synchronized Instant now() {
    return epoch.plusNanos(nowNanos);
  }

  /** Moves time forward by {@code d}, running every task that falls due, in order. */
  public void advance(Duration d) {
    long target;
    synchronized (this) {
      target = nowNanos + d.toNanos();
    }
    while (true) {
      Task<?> next;
      synchronized (this) {
        next = queue.peek();
        if (next == null || next.dueNanos > target) {
          nowNanos = target;
          return;
        }
        queue.poll();
        nowNanos = Math.max(nowNanos, next.dueNanos);
      }
      next.runOnce();
    }
  }

  /** Runs tasks that are due now (e.g. ones submitted with no delay). */
  public void runDueTasks() {
    advance(Duration.ZERO);
  }

  /** Number of tasks waiting, due or not. */
  public synchronized int pendingTasks() {
    return (int) queue.stream().filter(t -> !t.isCancelled()).count();
  }

  /** Delay until the next pending task, if any. */
  public synchronized Duration nextDelay() {
    Task<?> t = queue.stream().filter(x -> !x.isCancelled()).min(Task::compareTo).orElse(null);
    return t == null ? null : Duration.ofNanos(t.dueNanos - nowNanos);
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return enqueue(new Task<>(() -> {
      command.run();
      return null;
    }, unit.toNanos(delay), 0));
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    return enqueue(new Task<>(callable, unit.toNanos(delay), 0));
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
    return enqueue(new Task<>(() -> {
      command.run();
      return null;
    }, unit.toNanos(initialDelay), unit.toNanos(period)));
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
    return scheduleAtFixedRate(command, initialDelay, delay, unit);
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.NANOSECONDS);
  }

  private synchronized <V> Task<V> enqueue(Task<V> task) {
    if (shutdown) {
      throw new java.util.concurrent.RejectedExecutionException("FakeScheduler is shut down");
    }
    queue.add(task);
    return task;
  }

  @Override
  public synchronized void shutdown() {
    shutdown = true;
  }

  @Override
  public synchronized List<Runnable> shutdownNow() {
    shutdown = true;
    List<Runnable> pending = new ArrayList<>(queue);
    queue.clear();
    return pending;
  }

  @Override
  public synchronized boolean isShutdown() {
    return shutdown;
  }

  @Override
  public synchronized boolean isTerminated() {
    return shutdown && queue.isEmpty();
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return isTerminated();
  }

  private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
    private long dueNanos;
    private final long periodNanos;
    private final long seq;

    Task(Callable<V> callable, long delayNanos, long periodNanos) {
      super(callable);
      synchronized (FakeScheduler.this) {
        this.dueNanos = nowNanos + Math.max(0, delayNanos);
        this.seq = sequence++;
      }
      this.periodNanos = periodNanos;
    }

    void runOnce() {
      if (periodNanos <= 0) {
        run();
        return;
      }
      if (runAndReset()) {
        synchronized (FakeScheduler.this) {
          dueNanos += periodNanos;
          if (!shutdown) {
            queue.add(this);
          }
        }
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      synchronized (FakeScheduler.this) {
        return unit.convert(dueNanos - nowNanos, TimeUnit.NANOSECONDS);
      }
    }

    @Override
    public int compareTo(Delayed o) {
      Task<?> other = (Task<?>) o;
      int c = Long.compare(dueNanos, other.dueNanos);
      return c != 0 ? c : Long.compare(seq, other.seq);
    }

    @Override
    protected void done() {
      // Surface failures of fire-and-forget tasks instead of swallowing them.
      if (!isCancelled() && periodNanos <= 0) {
        try {
          get();
        } catch (ExecutionException e) {
          throw new AssertionError("task run by FakeScheduler failed", e.getCause());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
