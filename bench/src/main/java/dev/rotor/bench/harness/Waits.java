package dev.rotor.bench.harness;

import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/** Bounded waits on files and processes; each names what it waited for when it gives up. */
public final class Waits {
  private Waits() {}

  public static void forFile(Path file, Duration timeout, ManagedProcess owner) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!Files.exists(file)) {
      if (owner != null) {
        owner.checkAlive("waiting for " + file);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no " + file + " after " + timeout
            + (owner == null ? "" : "\n" + owner.describe(30)));
      }
      sleep(5);
    }
  }

  /** Waits for a line of {@code file} that satisfies {@code match}; returns it. */
  public static String forLine(Path file, Predicate<String> match, Duration timeout, ManagedProcess owner, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<String> hit = lines(file).stream().filter(match).findFirst();
      if (hit.isPresent()) {
        return hit.get();
      }
      if (owner != null && !owner.isAlive()) {
        hit = lines(file).stream().filter(match).findFirst();
        if (hit.isPresent()) {
          return hit.get();
        }
        throw new IllegalStateException(owner.name() + " exited while waiting for " + what + "\n" + owner.describe(30));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no " + what + " in " + file + " after " + timeout
            + (owner == null ? "" : "\n" + owner.describe(30)));
      }
      sleep(50);
    }
  }

  /** Waits until the process exits; false if it is still running after {@code timeout}. */
  public static boolean forExit(ManagedProcess p, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (p.isAlive()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      sleep(50);
    }
    return true;
  }

  public static List<String> lines(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    } catch (IOException | java.io.UncheckedIOException e) {
      return List.of();
    }
  }

  public static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
