package dev.rotor.metrics;

/**
 * What the file writer ({@code dev.rotor.files}) counts, read at each scrape. The writer
 * implements this; until one runs, {@link #NONE} reports zeros so the metrics exist from the start
 * (an alert on {@code rate(rotor_file_write_failures_total[5m]) > 0} must not depend on whether a
 * writer ever ran). Implementations must be thread-safe and quick (e.g. read AtomicLongs).
 */
public interface FileWriterCounters {

  /** Counters of a writer that is not running: all zero. */
  FileWriterCounters NONE = new FileWriterCounters() {
    @Override
    public long writes() {
      return 0;
    }

    @Override
    public long failures() {
      return 0;
    }

    @Override
    public long signalDeliveries() {
      return 0;
    }
  };

  /** Completed atomic writes of a certificate/key/bundle set. */
  long writes();

  /** Writes that failed (nothing was published; the previous files stay). */
  long failures();

  /** Reload signals (or commands) delivered to the program that reads the files. */
  long signalDeliveries();
}
