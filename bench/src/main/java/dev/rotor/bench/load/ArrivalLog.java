package dev.rotor.bench.load;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a load client saw, as a text file of one event per line (times are {@link WallClock}
 * nanoseconds):
 *
 * <pre>
 * S start_nanos streams                 the client started opening streams
 * R ready_nanos                         every stream had its first response
 * A stream arrival_nanos version        a response (SDS: the secret; ADS: the listeners) arrived
 * V version serial_hex                  the leaf certificate serial a secret version carries
 * P arrival_nanos serial_hex            the Workload API probe received an SVID with this serial
 * E stream nanos status                 a stream ended with an error
 * </pre>
 *
 * Written by the load client, read back by the harness with {@link #read}.
 */
public record ArrivalLog(
    long startNanos,
    int streams,
    long readyNanos,
    List<Arrival> arrivals,
    Map<String, String> serialByVersion,
    List<ProbeArrival> probe,
    List<String> errors) {

  public record Arrival(int stream, long nanos, String version) {}

  public record ProbeArrival(long nanos, String serial) {}

  public ArrivalLog {
    arrivals = List.copyOf(arrivals);
    serialByVersion = Map.copyOf(serialByVersion);
    probe = List.copyOf(probe);
    errors = List.copyOf(errors);
  }

  public Optional<String> serialOf(String version) {
    return Optional.ofNullable(serialByVersion.get(version));
  }

  public static ArrivalLog read(Path file) throws IOException {
    long start = 0;
    int streams = 0;
    long ready = 0;
    List<Arrival> arrivals = new ArrayList<>();
    Map<String, String> serials = new LinkedHashMap<>();
    List<ProbeArrival> probe = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String[] f = line.split(" ", 4);
      switch (f[0]) {
        case "S" -> {
          start = Long.parseLong(f[1]);
          streams = Integer.parseInt(f[2]);
        }
        case "R" -> ready = Long.parseLong(f[1]);
        case "A" -> arrivals.add(new Arrival(Integer.parseInt(f[1]), Long.parseLong(f[2]), f.length > 3 ? f[3] : ""));
        case "V" -> serials.put(f[1], f[2]);
        case "P" -> probe.add(new ProbeArrival(Long.parseLong(f[1]), f[2]));
        case "E" -> errors.add(line.substring(2));
        default -> { }
      }
    }
    return new ArrivalLog(start, streams, ready, arrivals, serials, probe, errors);
  }

  /** Appends one event line; the caller holds the writer's lock. */
  static void write(BufferedWriter w, String... fields) throws IOException {
    w.write(String.join(" ", fields));
    w.newLine();
  }

  static BufferedWriter open(Path file) throws IOException {
    return Files.newBufferedWriter(file, StandardCharsets.UTF_8);
  }
}
