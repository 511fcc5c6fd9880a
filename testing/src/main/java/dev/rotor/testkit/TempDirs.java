package dev.rotor.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** The scratch directories fixtures make under {@code /tmp}, and their removal. */
public final class TempDirs {
  private TempDirs() {}

  /**
   * Deletes {@code root} and everything below it, as far as it can: a socket or file still held
   * by a process that is exiting stays (/tmp is cleaned eventually), and a walk that fails is
   * reported on standard error, never thrown, so a test's own result is not replaced by it.
   */
  public static void deleteQuietly(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        try {
          Files.deleteIfExists(path);
        } catch (IOException e) {
          // Held by an exiting process.
        }
      }
    } catch (IOException | UncheckedIOException e) {
      System.err.println("cannot delete " + root + ": " + e);
    }
  }
}
