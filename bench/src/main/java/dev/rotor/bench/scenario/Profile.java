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

  /**
   * @param interpretedTopPercent samples whose top frame ran in the interpreter (JFR frame type
   *     "Interpreted"), i.e. code not yet compiled by the JIT
   */
  public record Summary(int streams, int samples, double interpretedTopPercent, List<Frame> components,
      List<Frame> self, List<Frame> inclusive, List<Frame> threads) {}

  /** Parts of Rotor, by the packages of the frames on the stack (a sample may count in several). */
  private static final List<java.util.Map.Entry<String, List<String>>> COMPONENTS = List.of(
      java.util.Map.entry("push log (dev.rotor.pushlog, logback, logstash JSON)",
          List.of("dev.rotor.pushlog.", "ch.qos.logback.", "net.logstash.")),
      java.util.Map.entry("xDS engine: flush (computing and sending responses)",
          List.of("dev.rotor.protocol.AbstractXdsStream.flush")),
      java.util.Map.entry("xDS engine: request handling (ACKs)",
          List.of("dev.rotor.protocol.AbstractXdsStream.lambda$onNext")),
      java.util.Map.entry("per-stream executors (Guava SequentialExecutor)",
          List.of("com.google.common.util.concurrent.SequentialExecutor")),
      java.util.Map.entry("gRPC and Netty (framing, flow control, socket I/O)", List.of("io.grpc.")),
      java.util.Map.entry("protobuf (building and encoding messages)", List.of("com.google.protobuf.")),
      java.util.Map.entry("identity: dev CA, gate, secret catalog",
          List.of("dev.rotor.source.", "dev.rotor.gate.", "dev.rotor.xds.secret.", "dev.rotor.runtime.")),
      java.util.Map.entry("cryptography (JCA, BouncyCastle)",
          List.of("sun.security.", "java.security.", "org.bouncycastle.")));

  public static Summary summarize(int streams, Path jfr, List<long[]> windowsNanos, int top) throws IOException {
    Map<String, Integer> self = new HashMap<>();
    Map<String, Integer> inclusive = new HashMap<>();
    Map<String, Integer> threads = new HashMap<>();
    int total = 0;
    int interpreted = 0;
    Map<String, Integer> components = new java.util.LinkedHashMap<>();
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
        if ("Interpreted".equals(frames.get(0).getType())) {
          interpreted++;
        }
      }
      Set<String> seen = new HashSet<>();
      for (RecordedFrame f : frames) {
        if (seen.add(name(f))) {
          inclusive.merge(name(f), 1, Integer::sum);
        }
      }
      for (var c : COMPONENTS) {
        if (seen.stream().anyMatch(n -> c.getValue().stream().anyMatch(n::startsWith))) {
          components.merge(c.getKey(), 1, Integer::sum);
        }
      }
      var thread = e.getThread("sampledThread");
      String tn = thread == null ? "?" : thread.getJavaName();
      threads.merge(tn == null ? "?" : tn.replaceAll("-\\d+$", "-N"), 1, Integer::sum);
    }
    return new Summary(streams, total, total == 0 ? 0 : 100.0 * interpreted / total,
        top(components, total, COMPONENTS.size()), top(self, total, top),
        top(inclusive, total, top), top(threads, total, 8));
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
