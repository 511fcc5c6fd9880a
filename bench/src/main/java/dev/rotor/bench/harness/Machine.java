package dev.rotor.bench.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The machine and the versions of everything measured, recorded next to the figures. */
public final class Machine {
  private Machine() {}

  public static Map<String, Object> describe() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("host", host());
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("cpu", firstMatching(Path.of("/proc/cpuinfo"), "model name").replaceFirst("^model name\\s*:\\s*", ""));
    m.put("memory_mib", Long.parseLong(firstMatching(Path.of("/proc/meminfo"), "MemTotal:")
        .replaceAll("[^0-9]", "")) / 1024);
    m.put("kernel", read(Path.of("/proc/sys/kernel/osrelease")));
    m.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("open_files_limit", command(List.of("sh", "-c", "ulimit -n")));
    m.put("loadavg_at_start", loadavg());
    return m;
  }

  public static String loadavg() {
    return read(Path.of("/proc/loadavg"));
  }

  public static String host() {
    String h = read(Path.of("/proc/sys/kernel/hostname"));
    return h.isEmpty() ? "unknown" : h;
  }

  /** The first line of {@code command}'s output (stdout and stderr), or "" if it cannot run. */
  public static String command(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      p.waitFor(30, TimeUnit.SECONDS);
      int nl = out.indexOf('\n');
      return nl < 0 ? out : out.substring(0, nl);
    } catch (IOException | InterruptedException e) {
      return "";
    }
  }

  /** A Maven artifact's version from its pom.properties on the classpath. */
  public static String mavenVersion(String groupId, String artifactId) {
    String res = "/META-INF/maven/" + groupId + "/" + artifactId + "/pom.properties";
    try (var in = Machine.class.getResourceAsStream(res)) {
      if (in == null) {
        return "unknown";
      }
      java.util.Properties p = new java.util.Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      return "";
    }
  }

  private static String firstMatching(Path p, String prefix) {
    try {
      return Files.readAllLines(p, StandardCharsets.UTF_8).stream().filter(l -> l.startsWith(prefix)).findFirst()
          .orElse("");
    } catch (IOException e) {
      return "";
    }
  }
}
