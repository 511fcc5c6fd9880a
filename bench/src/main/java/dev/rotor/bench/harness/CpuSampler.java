package dev.rotor.bench.harness;

import dev.rotor.bench.load.WallClock;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * Samples a process's CPU time (utime + stime from /proc) every {@code periodMillis}, stamped with
 * the wall clock, so CPU seconds can be attributed afterwards to a window (a rotation) known only
 * once the load client's log is read.
 */
public final class CpuSampler implements AutoCloseable {
  /** One sample: wall-clock nanos, clock ticks. */
  public record Sample(long nanos, long ticks) {}

  private final long pid;
  private final Thread thread;
  private final List<Sample> samples = new ArrayList<>();
  private volatile boolean stop;

  public CpuSampler(long pid, long periodMillis) {
    this.pid = pid;
    this.thread = new Thread(() -> {
      while (!stop) {
        OptionalLong t = ProcFs.cpuTicks(pid);
        if (t.isEmpty()) {
          return;
        }
        synchronized (samples) {
          samples.add(new Sample(WallClock.nowNanos(), t.getAsLong()));
        }
        try {
          Thread.sleep(periodMillis);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "cpu-sampler-" + pid);
    thread.setDaemon(true);
    thread.start();
  }

  public long pid() {
    return pid;
  }

  public List<Sample> samples() {
    synchronized (samples) {
      return List.copyOf(samples);
    }
  }

  /** Ticks at the last sample at or before {@code nanos} (the first sample if none is). */
  public static long ticksAtOrBefore(List<Sample> s, long nanos) {
    long v = s.isEmpty() ? 0 : s.get(0).ticks();
    for (Sample x : s) {
      if (x.nanos() > nanos) {
        break;
      }
      v = x.ticks();
    }
    return v;
  }

  /** Ticks at the first sample at or after {@code nanos} (the last sample if none is). */
  public static long ticksAtOrAfter(List<Sample> s, long nanos) {
    for (Sample x : s) {
      if (x.nanos() >= nanos) {
        return x.ticks();
      }
    }
    return s.isEmpty() ? 0 : s.get(s.size() - 1).ticks();
  }

  @Override
  public void close() {
    stop = true;
    thread.interrupt();
    try {
      thread.join(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
