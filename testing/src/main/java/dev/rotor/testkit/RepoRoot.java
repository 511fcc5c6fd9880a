package dev.rotor.testkit;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The repository root, where fixtures find what they build or start (spire/, envoy-configs/,
 * deploy/). Every module that runs fixtures passes it as the system property {@code
 * rotor.repo.root} (see the modules' surefire and failsafe configuration).
 */
public final class RepoRoot {
  private RepoRoot() {}

  /** The root, checked to be this repository (it holds {@code spire/build-spire.sh}). */
  public static Path path() {
    String root = System.getProperty("rotor.repo.root");
    if (root == null || root.isBlank()) {
      throw new IllegalStateException("system property rotor.repo.root is not set (expected: the"
          + " repository root, passed by the module's surefire or failsafe configuration)");
    }
    Path path = Path.of(root).toAbsolutePath().normalize();
    if (!Files.isRegularFile(path.resolve("spire/build-spire.sh"))) {
      throw new IllegalStateException("rotor.repo.root: " + path
          + " (expected: a directory containing spire/build-spire.sh)");
    }
    return path;
  }

  /** {@code relative} resolved against the root. */
  public static Path resolve(String relative) {
    return path().resolve(relative);
  }

  /**
   * A file a build step makes ({@code sds-server/target/rotor.jar}, {@code demo/target/demo.jar}),
   * checked to exist; {@code builtBy} says what makes it, for the message when it does not.
   */
  public static Path built(String relative, String builtBy) {
    Path file = resolve(relative);
    if (!Files.isRegularFile(file)) {
      throw new IllegalStateException(file + " does not exist (expected: built by " + builtBy + ")");
    }
    return file;
  }
}
