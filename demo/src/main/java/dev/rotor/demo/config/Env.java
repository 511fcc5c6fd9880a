package dev.rotor.demo.config;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Typed, validated reads of environment variables. Every problem is collected rather than thrown
 * at once, so a misconfigured pod reports all its mistakes in one start-up ({@link #check()}).
 * A read that failed returns the default (or a placeholder) so parsing can go on.
 */
public final class Env {
  private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

  private final Map<String, String> vars;
  private final List<String> problems = new ArrayList<>();

  public Env(Map<String, String> vars) {
    this.vars = Map.copyOf(requireNonNull(vars, "vars"));
  }

  private Optional<String> raw(String name) {
    String v = vars.get(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
  }

  private <T> T parse(String name, T dflt, Function<String, T> parser) {
    Optional<String> v = raw(name);
    if (v.isEmpty()) {
      return dflt;
    }
    try {
      return parser.apply(v.get());
    } catch (IllegalArgumentException e) {
      problems.add(name + ": " + e.getMessage());
      return dflt;
    }
  }

  private void missing(String name, String expected) {
    problems.add(name + ": not set (expected " + expected + ")");
  }

  public String string(String name, String dflt) {
    return raw(name).orElse(dflt);
  }

  public String requiredString(String name, String expected) {
    Optional<String> v = raw(name);
    if (v.isEmpty()) {
      missing(name, expected);
      return "";
    }
    return v.get();
  }

  public HostPort hostPort(String name, HostPort dflt) {
    return parse(name, dflt, HostPort::parse);
  }

  public HostPort requiredHostPort(String name) {
    if (raw(name).isEmpty()) {
      missing(name, "host:port, e.g. postgres.demo.svc.cluster.local:5432");
      return new HostPort("unset", 0);
    }
    return hostPort(name, new HostPort("unset", 0));
  }

  /** A whole number in {@code [min, max]}. */
  public int integer(String name, int dflt, int min, int max) {
    return parse(name, dflt, v -> {
      int n;
      try {
        n = Integer.parseInt(v);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("\"" + v + "\" is not a whole number (expected " + min + ".." + max + ")");
      }
      if (n < min || n > max) {
        throw new IllegalArgumentException(n + " is out of range (expected " + min + ".." + max + ")");
      }
      return n;
    });
  }

  /** A duration written {@code 250ms}, {@code 45s}, {@code 5m} or {@code 1h}, at least {@code min}. */
  public Duration duration(String name, Duration dflt, Duration min) {
    return parse(name, dflt, v -> {
      Matcher m = DURATION.matcher(v.toLowerCase(Locale.ROOT));
      if (!m.matches()) {
        throw new IllegalArgumentException("\"" + v + "\" is not a duration (expected e.g. 500ms, 45s, 5m or 1h)");
      }
      long n = Long.parseLong(m.group(1));
      Duration d = switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        default -> Duration.ofHours(n);
      };
      if (d.compareTo(min) < 0) {
        throw new IllegalArgumentException(v + " is too short (expected at least " + human(min) + ")");
      }
      return d;
    });
  }

  /** An absolute file path; whether the file exists yet is not checked (a sidecar may still write it). */
  public Path requiredAbsolutePath(String name, String expected) {
    Optional<String> v = raw(name);
    if (v.isEmpty()) {
      missing(name, expected);
      return Path.of("/unset");
    }
    Path p = Path.of(v.get());
    if (!p.isAbsolute()) {
      problems.add(name + ": \"" + v.get() + "\" is not an absolute path (expected " + expected + ")");
    }
    return p;
  }

  /** An absolute {@code http://} URL. */
  public URI httpUrl(String name, URI dflt) {
    return parse(name, dflt, v -> {
      URI u;
      try {
        u = new URI(v);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("\"" + v + "\" is not a URL (expected e.g. http://127.0.0.1:9001/api/demo)");
      }
      if (!"http".equals(u.getScheme()) || u.getHost() == null) {
        throw new IllegalArgumentException("\"" + v + "\" is not an http:// URL with a host (expected e.g."
            + " http://127.0.0.1:9001/api/demo; TLS is Envoy's job, not the application's)");
      }
      return u;
    });
  }

  /** Adds a problem found by a check across several variables. */
  public void problem(String message) {
    problems.add(message);
  }

  /** @throws ConfigException listing every problem, when there was one */
  public void check() {
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
  }

  static String human(Duration d) {
    if (d.toMillis() % 1000 != 0) {
      return d.toMillis() + "ms";
    }
    return d.toSeconds() + "s";
  }
}
