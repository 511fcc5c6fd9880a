package dev.rotor.bench.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;

/** What the kernel says about a process: CPU time and resident memory, from /proc. */
public final class ProcFs {
  /** USER_HZ: the unit of utime and stime in /proc/PID/stat. 100 on every Linux ABI in use. */
  public static final int CLOCK_TICKS_PER_SECOND = 100;

  private ProcFs() {}

  /** utime + stime of the process (all its threads), in clock ticks; empty once it has exited. */
  public static OptionalLong cpuTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
      // The command name (field 2) is in parentheses and may contain spaces: count fields after ')'.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      // f[0] is field 3 (state); utime is field 14, stime field 15.
      return OptionalLong.of(Long.parseLong(f[11]) + Long.parseLong(f[12]));
    } catch (IOException | RuntimeException e) {
      return OptionalLong.empty();
    }
  }

  /** VmRSS in KiB; empty once the process has exited. */
  public static OptionalLong rssKiB(long pid) {
    return statusField(pid, "VmRSS:");
  }

  /** VmHWM (peak RSS) in KiB. */
  public static OptionalLong peakRssKiB(long pid) {
    return statusField(pid, "VmHWM:");
  }

  private static OptionalLong statusField(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"), StandardCharsets.US_ASCII)) {
        if (line.startsWith(field)) {
          return OptionalLong.of(Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]));
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return OptionalLong.empty();
  }

  /** The first process whose command line contains every one of {@code parts}. */
  public static Optional<Long> findPid(String... parts) {
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path d : dirs) {
        try {
          String cmd = new String(Files.readAllBytes(d.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
          boolean all = !cmd.isEmpty();
          for (String p : parts) {
            all &= cmd.contains(p);
          }
          if (all) {
            return Optional.of(Long.parseLong(d.getFileName().toString()));
          }
        } catch (IOException | RuntimeException e) {
          // raced with an exiting process
        }
      }
    } catch (IOException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
