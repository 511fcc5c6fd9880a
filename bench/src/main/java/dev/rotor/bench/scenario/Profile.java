package dev.rotor.bench.scenario;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where Rotor's CPU goes during a fan-out: JFR execution samples (settings=profile, 10–20 ms per
 * thread) taken only inside the rotation windows (trigger to last delivery + 1 s), summarized as
 * the methods most often on top of the stack (self) and most often anywhere on it (inclusive).
 */
public final class Profile {

  public record Frame(String method, int samples, double percent) {}

  public record Summary(int samples, List<Frame> self, List<Frame> inclusive, List<Frame> threads) {}

  public static Summary summarize(Path jfr, List<long[]> windowsNanos, int top) throws IOException {
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> inclusive = new HashMap<>();
    Map<String, Integer> threads = new HashMap<>();
    int total = 0;
    for (RecordedEvent e : RecordingFile.readAllEvents(jfr)) {
      if (!e.getEventType().getName().equals("jdk.ExecutionSample") || e.getStackTrace() == null) {
        continue;
      }
      Instant t = e.getStartTime();
      long nanos = t.getEpochSecond() * 1_000_000_000L + t.getNano();
      boolean inside = windowsNanos.stream().anyMatch(w -> nanos >= w[0] && nanos <= w[1]);
      if (!inside) {
        continue;
      }
      total++;
      List<RecordedFrame> frames = e.getStackTrace().getFrames();
      if (!frames.isEmpty()) {
        self.merge(name(frames.get(0)), 1, Integer::sum);
      }
      Set<String> seen = new HashSet<>();
      for (RecordedFrame f : frames) {
        if (seen.add(name(f))) {
          inclusive.merge(name(f), 1, Integer::sum);
        }
      }
      var thread = e.getThread("sampledThread");
      String tn = thread == null ? "?" : thread.getJavaName();
      threads.merge(tn == null ? "?" : tn.replaceAll("-\\d+$", "-N"), 1, Integer::sum);
    }
    return new Summary(total, top(self, total, top), top(inclusive, total, top), top(threads, total, 8));
  }

  private static String name(RecordedFrame f) {
    return f.getMethod().getType().getName() + "." + f.getMethod().getName();
  }

  private static List<Frame> top(Map<String, Integer> m, int total, int n) {
    List<Frame> out = new ArrayList<>();
    m.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(n)
        .forEach(e -> out.add(new Frame(e.getKey(), e.getValue(), total == 0 ? 0 : 100.0 * e.getValue() / total)));
    return out;
  }
}
