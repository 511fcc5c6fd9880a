package dev.rotor.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The process umask, from the {@code Umask:} line of {@code /proc/self/status} (Linux 4.7 and
 * later). Java has no call for it, and setting it to read it back (umask(2)) would race with every
 * other thread creating files.
 */
final class Umask {

  /** What a process gets when nothing changed it, and what is assumed when the kernel does not say. */
  static final int USUAL = 0022;

  private Umask() {}

  static int ofThisProcess() {
    try {
      return parse(Files.readAllLines(Path.of("/proc/self/status"))).orElse(USUAL);
    } catch (IOException | RuntimeException e) {
      return USUAL;
    }
  }

  /** The {@code Umask:} value of a {@code /proc/<pid>/status} text. */
  static Optional<Integer> parse(Iterable<String> statusLines) {
    for (String line : statusLines) {
      if (line.startsWith("Umask:")) {
        return Optional.of(Integer.parseInt(line.substring("Umask:".length()).trim(), 8) & 0777);
      }
    }
    return Optional.empty();
  }
}
