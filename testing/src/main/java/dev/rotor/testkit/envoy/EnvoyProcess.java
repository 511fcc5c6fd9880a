package dev.rotor.testkit.envoy;

import static java.util.Objects.requireNonNull;
import static org.awaitility.Awaitility.await;

import dev.rotor.testkit.TemplateFile;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A real Envoy (the official binary of one version, see {@link EnvoyInstallation}) as a child
 * process of a test: {@code --concurrency 1}, a base id of its own ({@code --use-dynamic-base-id},
 * so any number run side by side), the admin API on a free port that Envoy reports through {@code
 * --admin-address-path}, and its log in {@code <dir>/<name>.log}. The process is always reaped:
 * by {@link #close}, or by a JVM shutdown hook.
 *
 * <pre>{@code
 * try (EnvoyProcess envoy = EnvoyProcess.builder("backend", EnvoyVersions.newest())
 *     .bootstrap(EnvoyBootstrap.demo("backend-envoy.yaml", socket))
 *     .dir(tmp)
 *     .start()) {
 *   envoy.awaitLive(Duration.ofSeconds(30));
 *   envoy.admin().certs() ...
 * }
 * }</pre>
 */
public final class EnvoyProcess implements AutoCloseable {
  private static final Duration ADMIN_WAIT = Duration.ofSeconds(30);
  private static final Duration STOP_GRACE = Duration.ofSeconds(5);

  private final String name;
  private final String version;
  private final ManagedProcess process;
  private final Path bootstrap;
  private final EnvoyAdmin admin;

  private EnvoyProcess(String name, String version, ManagedProcess process, Path bootstrap, EnvoyAdmin admin) {
    this.name = name;
    this.version = version;
    this.process = process;
    this.bootstrap = bootstrap;
    this.admin = admin;
  }

  public static Builder builder(String name, String version) {
    return new Builder(name, version);
  }

  /** Options of one Envoy process. */
  public static final class Builder {
    private final String name;
    private final String version;
    private TemplateFile bootstrap;
    private Path dir;
    private String logLevel = "info";
    private final Map<String, String> componentLogLevels = new LinkedHashMap<>();
    private final List<String> extraArgs = new ArrayList<>();
    private Integer uid;
    private Integer gid;

    private Builder(String name, String version) {
      this.name = requireNonNull(name, "name");
      this.version = requireNonNull(version, "version");
    }

    /** The bootstrap; its admin address must bind port 0 (see {@link EnvoyBootstrap#demo}). */
    public Builder bootstrap(TemplateFile bootstrap) {
      this.bootstrap = requireNonNull(bootstrap, "bootstrap");
      return this;
    }

    /** Where the rendered bootstrap, the admin address file and the log go. */
    public Builder dir(Path dir) {
      this.dir = requireNonNull(dir, "dir");
      return this;
    }

    /** {@code --log-level} (default info). */
    public Builder logLevel(String level) {
      this.logLevel = requireNonNull(level, "level");
      return this;
    }

    /** One entry of {@code --component-log-level}, e.g. {@code rbac}, {@code debug}. */
    public Builder componentLogLevel(String component, String level) {
      componentLogLevels.put(requireNonNull(component, "component"), requireNonNull(level, "level"));
      return this;
    }

    /**
     * Runs Envoy as {@code uid}:{@code gid} with no supplementary groups ({@code setpriv}, which
     * needs this JVM to be root), from a binary every user can run ({@link
     * EnvoyInstallation#binaryForAnyUser}). Its bootstrap, admin-address and base-id files go to a
     * directory of its own under {@link #dir}, owned by that UID; {@code dir} and every directory
     * above it must let others traverse them.
     */
    public Builder runAs(int uid, int gid) {
      if (uid < 0 || gid < 0) {
        throw new IllegalArgumentException("uid/gid: " + uid + "/" + gid + " (expected: >= 0)");
      }
      this.uid = uid;
      this.gid = gid;
      return this;
    }

    /** More command-line arguments, after the fixture's own. */
    public Builder args(String... args) {
      extraArgs.addAll(List.of(args));
      return this;
    }

    /** Starts Envoy and waits (bounded) until its admin API listens. */
    public EnvoyProcess start() {
      requireNonNull(bootstrap, "bootstrap (call bootstrap(...) before start())");
      requireNonNull(dir, "dir (call dir(...) before start())");
      Path binary = uid == null ? EnvoyInstallation.binary(version) : EnvoyInstallation.binaryForAnyUser(version);
      Path own = uid == null ? dir : ownDirectory();
      Path config = bootstrap.writeTo(own.resolve(name + ".envoy.yaml"));
      Path adminAddress = own.resolve(name + ".admin-address");
      Path baseId = own.resolve(name + ".base-id");
      try {
        Files.deleteIfExists(adminAddress);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot remove the stale " + adminAddress, e);
      }
      List<String> command = new ArrayList<>();
      if (uid != null) {
        command.addAll(List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups"));
      }
      command.addAll(List.of(binary.toString(),
          "-c", config.toString(),
          "--concurrency", "1",
          "--use-dynamic-base-id", "--base-id-path", baseId.toString(),
          "--admin-address-path", adminAddress.toString(),
          "--log-level", logLevel));
      if (!componentLogLevels.isEmpty()) {
        List<String> levels = new ArrayList<>();
        componentLogLevels.forEach((component, level) -> levels.add(component + ":" + level));
        command.add("--component-log-level");
        command.add(String.join(",", levels));
      }
      command.addAll(extraArgs);
      ManagedProcess process = ManagedProcess.start("envoy " + name + " (" + version + ")", command,
          dir.resolve(name + ".envoy.log"));
      try {
        URI adminUri = awaitAdminAddress(process, adminAddress);
        return new EnvoyProcess(name, version, process, config, new EnvoyAdmin(adminUri));
      } catch (RuntimeException e) {
        process.close();
        throw e;
      }
    }

    private Path ownDirectory() {
      Path own = dir.resolve(name + ".uid-" + uid);
      try {
        Files.createDirectories(own);
        Files.setAttribute(own, "unix:uid", uid);
        Files.setAttribute(own, "unix:gid", gid);
        Files.setPosixFilePermissions(own, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        for (Path p = dir.toAbsolutePath(); p != null; p = p.getParent()) {
          if (!Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
            throw new IllegalStateException(p + " does not let other users traverse it, so Envoy as uid " + uid
                + " cannot reach " + own + " (give it mode o+x, or choose another dir)");
          }
        }
        return own;
      } catch (IOException e) {
        throw new UncheckedIOException("cannot prepare " + own + " for Envoy as uid " + uid, e);
      }
    }

    private static URI awaitAdminAddress(ManagedProcess process, Path file) {
      try {
        String address = await(process.name() + " to write its admin address to " + file)
            .atMost(ADMIN_WAIT)
            .pollInterval(Duration.ofMillis(50))
            .until(() -> {
              process.checkAlive("waiting for its admin address in " + file);
              return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8).strip() : "";
            }, a -> !a.isEmpty());
        return URI.create("http://" + address + "/");
      } catch (ConditionTimeoutException e) {
        throw new IllegalStateException(e.getMessage() + "\n" + process.describe(60), e);
      }
    }
  }

  public String name() {
    return name;
  }

  /** The Envoy version this process runs, e.g. {@code 1.40.0}. */
  public String version() {
    return version;
  }

  public EnvoyAdmin admin() {
    return admin;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** The bootstrap file as Envoy was started with it. */
  public Path bootstrap() {
    return bootstrap;
  }

  /** Waits (bounded) until the server is {@code LIVE}: initialized, listeners started, {@code /ready} 200. */
  public EnvoyProcess awaitLive(Duration atMost) {
    awaitAdmin("server state LIVE (/ready)", atMost, () -> admin.isLive());
    return this;
  }

  /**
   * Waits (bounded) until {@code condition} holds, polling every 100 ms; fails with Envoy's log if
   * Envoy exits meanwhile or the time runs out. A condition that throws (an admin call that failed,
   * an assertion) counts as "not yet"; the last such failure is in the timeout's message.
   */
  public void awaitAdmin(String what, Duration atMost, Callable<Boolean> condition) {
    AtomicReference<Throwable> lastFailure = new AtomicReference<>();
    try {
      await(name + ": " + what)
          .atMost(atMost)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> {
            process.checkAlive("waiting for " + what);
            try {
              return condition.call();
            } catch (Exception | AssertionError e) {
              lastFailure.set(e);
              return false;
            }
          });
    } catch (ConditionTimeoutException e) {
      AssertionError failure = new AssertionError(e.getMessage()
          + (lastFailure.get() == null ? "" : "\nlast failed check: " + lastFailure.get())
          + "\n" + describe(), e);
      if (lastFailure.get() != null) {
        failure.addSuppressed(lastFailure.get());
      }
      throw failure;
    }
  }

  /** Lines of Envoy's log so far. */
  public List<String> logLines() {
    try {
      return Files.readAllLines(process.stdout(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + process.stdout(), e);
    }
  }

  /** The command line and the end of Envoy's log, for failure messages. */
  public String describe() {
    return process.describe(80);
  }

  /** SIGTERM, then SIGKILL after a grace period; returns once Envoy has exited. Idempotent. */
  @Override
  public void close() {
    process.stop(STOP_GRACE);
  }

  @Override
  public String toString() {
    return "Envoy " + version + " \"" + name + "\" (pid " + process.pid() + ", admin " + admin.base() + ")";
  }
}
