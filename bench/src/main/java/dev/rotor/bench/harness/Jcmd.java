package dev.rotor.bench.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Heap figures of a running JVM through {@code jcmd}. */
public final class Jcmd {
  private Jcmd() {}

  /** One line of a class histogram: class name, instances, bytes. */
  public record HistogramLine(String className, long instances, long bytes) {}

  /** A class histogram, taken after a full GC (jcmd's default): live objects only. */
  public record Histogram(long totalBytes, long totalInstances, List<HistogramLine> top) {}

  public static Histogram liveHistogram(long pid, int topN) throws IOException, InterruptedException {
    String out = run(List.of(jcmd(), Long.toString(pid), "GC.class_histogram"));
    long totalBytes = -1;
    long totalInstances = -1;
    List<HistogramLine> top = new ArrayList<>();
    for (String line : out.split("\n")) {
      String t = line.trim();
      if (t.startsWith("Total")) {
        String[] f = t.split("\\s+");
        totalInstances = Long.parseLong(f[1]);
        totalBytes = Long.parseLong(f[2]);
      } else if (t.matches("\\d+:\\s+\\d+\\s+\\d+\\s+\\S+.*") && top.size() < topN) {
        String[] f = t.split("\\s+");
        top.add(new HistogramLine(f[3], Long.parseLong(f[1]), Long.parseLong(f[2])));
      }
    }
    if (totalBytes < 0) {
      throw new IOException("jcmd " + pid + " GC.class_histogram: no Total line in:\n" + out);
    }
    return new Histogram(totalBytes, totalInstances, top);
  }

  /**
   * Committed native memory by category (KiB) from {@code jcmd VM.native_memory summary}; the JVM
   * must run with {@code -XX:NativeMemoryTracking=summary}. "Total" is the sum.
   */
  public static java.util.Map<String, Long> nativeMemorySummary(long pid) throws IOException, InterruptedException {
    String out = run(List.of(jcmd(), Long.toString(pid), "VM.native_memory", "summary"));
    java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
    java.util.regex.Matcher total = java.util.regex.Pattern.compile("Total: reserved=\\d+KB, committed=(\\d+)KB")
        .matcher(out);
    if (total.find()) {
      m.put("Total", Long.parseLong(total.group(1)));
    }
    java.util.regex.Matcher cat = java.util.regex.Pattern
        .compile("-\\s+([A-Za-z][A-Za-z ]*?) \\(reserved=\\d+KB, committed=(\\d+)KB\\)").matcher(out);
    while (cat.find()) {
      m.put(cat.group(1).trim(), Long.parseLong(cat.group(2)));
    }
    return m;
  }

  private static String jcmd() {
    return Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
  }

  static String run(List<String> command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("jcmd-", ".txt");
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("timed out: " + String.join(" ", command));
      }
      return Files.readString(out, StandardCharsets.UTF_8);
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
