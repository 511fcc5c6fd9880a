package dev.rotor.bench.scenario;

import dev.rotor.bench.load.WallClock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The moment a rotation (or policy edit) started, on the wall clock, and the leaf serial it
 * carries (empty for policy edits), so deliveries can be matched to it by content, not by order.
 */
public record Trigger(long nanos, String serial) {

  private static final Pattern TIME = Pattern.compile("\"time\":\"([^\"]+)\"");
  private static final Pattern ISSUED = Pattern.compile("dev CA issued \\S+ serial ([0-9a-fA-F]+)");

  public static String normalize(String serialHex) {
    String s = serialHex.toLowerCase(java.util.Locale.ROOT).replaceFirst("^0+(?=.)", "");
    return s;
  }

  /**
   * Rotor's development CA: the time stamp of each "dev CA issued" log line, written right after
   * the SVID is signed and before it is handed to the identity gate.
   */
  public static List<Trigger> fromRotorDevLog(List<String> lines) {
    List<Trigger> out = new ArrayList<>();
    for (String l : lines) {
      Matcher issued = ISSUED.matcher(l);
      Matcher time = TIME.matcher(l);
      if (issued.find() && time.find()) {
        out.add(new Trigger(WallClock.toNanos(Instant.parse(time.group(1))), normalize(issued.group(1))));
      }
    }
    return out;
  }

  /** The java-control-plane peer's {@code TRIGGER nanos serial} lines. */
  public static List<Trigger> fromJcpLog(List<String> lines) {
    List<Trigger> out = new ArrayList<>();
    for (String l : lines) {
      if (l.startsWith("TRIGGER ")) {
        String[] f = l.split(" ");
        out.add(new Trigger(Long.parseLong(f[1]), normalize(f[2])));
      }
    }
    return out;
  }
}
