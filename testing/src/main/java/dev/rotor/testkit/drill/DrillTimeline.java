package dev.rotor.testkit.drill;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * What happened during a drill, per client and per interval: every query attempt (when it
 * started and ended, relative to the drill's start, and whether it succeeded) and every event
 * (certificate rotations, the legacy client's certificate expiring). Attempts and events are put
 * into the interval in which they ended, so an interval's counts are final once it is over.
 * Guarded by {@code this}.
 */
public final class DrillTimeline {
  /** One query attempt of one client; {@code error} is empty for a success. */
  public record Attempt(String client, Duration started, Duration ended, boolean ok, String error) {}

  /** Something that happened at {@code at}: one of the event texts below. */
  public record Event(Duration at, String what) {}

  public static final String SERVER_ROTATED = "server certificate rotated";
  public static final String CLIENT_ROTATED = "client certificate rotated";
  public static final String LEGACY_EXPIRED = "legacy client's certificate expired";

  /** Successes and failures of one client in one interval. */
  public record Counts(int ok, int failed) {
    public int attempts() {
      return ok + failed;
    }
  }

  /** One interval: {@code [from, to)}, the counts of each client (in client order), the events. */
  public record Row(int index, Duration from, Duration to, Map<String, Counts> counts, List<String> events) {
    public Row {
      counts = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(counts));
      events = List.copyOf(events);
    }
  }

  private final List<String> clients;
  private final Duration interval;
  private final Duration length;
  private final List<Attempt> attempts = new ArrayList<>();
  private final List<Event> events = new ArrayList<>();

  public DrillTimeline(List<String> clients, Duration interval, Duration length) {
    this.clients = List.copyOf(clients);
    this.interval = requireNonNull(interval, "interval");
    this.length = requireNonNull(length, "length");
    if (interval.isZero() || interval.isNegative() || length.toMillis() % interval.toMillis() != 0) {
      throw new IllegalArgumentException("interval: " + interval + " (expected: > 0 and dividing the"
          + " drill's length " + length + ")");
    }
  }

  public List<String> clients() {
    return clients;
  }

  public Duration interval() {
    return interval;
  }

  public Duration length() {
    return length;
  }

  public int intervals() {
    return (int) (length.toMillis() / interval.toMillis());
  }

  /** Records an attempt; one that ended after the drill's length is dropped. */
  public synchronized void record(Attempt attempt) {
    if (!clients.contains(attempt.client())) {
      throw new IllegalArgumentException("client: " + attempt.client() + " (expected one of " + clients + ")");
    }
    if (attempt.ended().compareTo(length) < 0) {
      attempts.add(attempt);
    }
  }

  public synchronized void event(Duration at, String what) {
    if (at.compareTo(length) < 0) {
      events.add(new Event(at, what));
    }
  }

  public synchronized List<Attempt> attempts() {
    return List.copyOf(attempts);
  }

  public synchronized List<Attempt> attempts(String client) {
    return attempts.stream().filter(a -> a.client().equals(client)).toList();
  }

  public synchronized List<Event> events() {
    return List.copyOf(events);
  }

  /** The row of interval {@code index}, as recorded so far. */
  public synchronized Row row(int index) {
    Duration from = interval.multipliedBy(index);
    Duration to = from.plus(interval);
    Map<String, Counts> counts = new LinkedHashMap<>();
    for (String client : clients) {
      int ok = 0;
      int failed = 0;
      for (Attempt attempt : attempts) {
        if (attempt.client().equals(client) && within(attempt.ended(), from, to)) {
          if (attempt.ok()) {
            ok++;
          } else {
            failed++;
          }
        }
      }
      counts.put(client, new Counts(ok, failed));
    }
    List<String> what = events.stream().filter(e -> within(e.at(), from, to)).map(Event::what).toList();
    return new Row(index, from, to, counts, what);
  }

  public synchronized List<Row> rows() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < intervals(); i++) {
      rows.add(row(i));
    }
    return rows;
  }

  /** Totals of one client over the whole drill. */
  public synchronized Counts total(String client) {
    int ok = (int) attempts.stream().filter(a -> a.client().equals(client) && a.ok()).count();
    int failed = (int) attempts.stream().filter(a -> a.client().equals(client) && !a.ok()).count();
    return new Counts(ok, failed);
  }

  /** One line of the printed timeline. */
  public static String format(Row row) {
    StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%6.1f-%6.1f s",
        seconds(row.from()), seconds(row.to())));
    for (Map.Entry<String, Counts> entry : row.counts().entrySet()) {
      line.append(String.format(Locale.ROOT, " | %-10s %4d ok %4d failed", entry.getKey(),
          entry.getValue().ok(), entry.getValue().failed()));
    }
    if (!row.events().isEmpty()) {
      line.append(" | ").append(String.join("; ", row.events()));
    }
    return line.toString();
  }

  /** The header line that goes with {@link #format}. */
  public String header() {
    return "interval (since start) | per client: successful and failed queries | events";
  }

  /**
   * The timeline as CSV: {@code interval,start_s,end_s}, then {@code CLIENT_ok,CLIENT_failed} per
   * client, then {@code events} (separated by "; ", quoted).
   */
  public synchronized String csv() {
    StringJoiner header = new StringJoiner(",");
    header.add("interval").add("start_s").add("end_s");
    for (String client : clients) {
      header.add(client + "_ok").add(client + "_failed");
    }
    header.add("events");
    StringBuilder out = new StringBuilder(header.toString()).append('\n');
    for (Row row : rows()) {
      StringJoiner line = new StringJoiner(",");
      line.add(Integer.toString(row.index()))
          .add(String.format(Locale.ROOT, "%.1f", seconds(row.from())))
          .add(String.format(Locale.ROOT, "%.1f", seconds(row.to())));
      for (Counts counts : row.counts().values()) {
        line.add(Integer.toString(counts.ok())).add(Integer.toString(counts.failed()));
      }
      line.add("\"" + String.join("; ", row.events()).replace("\"", "'") + "\"");
      out.append(line).append('\n');
    }
    return out.toString();
  }

  public void writeCsv(Path file) {
    try {
      Files.writeString(file, csv(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /**
   * Reads a CSV written by {@link #csv()} back: per row, the counts of each client named in the
   * header. Fails naming the line and what was expected.
   */
  public static List<Map<String, Counts>> parseCsv(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      if (lines.isEmpty()) {
        throw new IllegalArgumentException(file + ": empty (expected a header line)");
      }
      String[] header = lines.get(0).split(",");
      if (header.length < 6 || !header[0].equals("interval") || !header[header.length - 1].equals("events")
          || (header.length - 4) % 2 != 0) {
        throw new IllegalArgumentException(file + ":1: " + lines.get(0)
            + " (expected: interval,start_s,end_s,{CLIENT_ok,CLIENT_failed}...,events)");
      }
      List<Map<String, Counts>> rows = new ArrayList<>();
      for (int i = 1; i < lines.size(); i++) {
        String[] cells = lines.get(i).split(",", header.length);
        if (cells.length != header.length || Integer.parseInt(cells[0]) != i - 1) {
          throw new IllegalArgumentException(file + ":" + (i + 1) + ": " + lines.get(i)
              + " (expected " + header.length + " cells, interval " + (i - 1) + ")");
        }
        Map<String, Counts> counts = new LinkedHashMap<>();
        for (int c = 3; c < header.length - 1; c += 2) {
          String client = header[c].substring(0, header[c].length() - "_ok".length());
          counts.put(client, new Counts(Integer.parseInt(cells[c]), Integer.parseInt(cells[c + 1])));
        }
        rows.add(counts);
      }
      return rows;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  public static double seconds(Duration duration) {
    return duration.toMillis() / 1000.0;
  }

  private static boolean within(Duration at, Duration from, Duration to) {
    return at.compareTo(from) >= 0 && at.compareTo(to) < 0;
  }
}
