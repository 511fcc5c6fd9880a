package dev.rotor.bench.harness;

import static java.util.Objects.requireNonNull;

import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where a benchmark run works and how it starts its processes: the repository, a scratch
 * directory (under {@code bench/results/tmp/}, ignored by git), the classpath of the harness (for
 * the load client and the java-control-plane peer), and Rotor itself: the shaded {@code rotor.jar}
 * as users run it when there is one, else {@code dev.rotor.cli.RotorMain} from the classpath
 * (smoke mode inside the test command, where nothing is packaged).
 */
public final class BenchContext {
  private final Path repoRoot;
  private final Path scratch;
  private final String classpath;
  private final Optional<Path> rotorJar;
  private final boolean smoke;
  private final java.util.concurrent.atomic.AtomicInteger dirs = new java.util.concurrent.atomic.AtomicInteger();

  public BenchContext(Path repoRoot, Path scratch, String classpath, Optional<Path> rotorJar, boolean smoke) {
    this.repoRoot = requireNonNull(repoRoot, "repoRoot");
    this.scratch = requireNonNull(scratch, "scratch");
    this.classpath = requireNonNull(classpath, "classpath");
    this.rotorJar = requireNonNull(rotorJar, "rotorJar");
    this.smoke = smoke;
  }

  public Path repoRoot() {
    return repoRoot;
  }

  public Path scratch() {
    return scratch;
  }

  public boolean smoke() {
    return smoke;
  }

  public Optional<Path> rotorJar() {
    return rotorJar;
  }

  /** A new empty directory under the scratch directory. Kept short: Unix socket paths are limited. */
  public Path newDir(String name) throws IOException {
    return Files.createDirectories(scratch.resolve(name + "-" + dirs.incrementAndGet()));
  }

  public static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** {@code java OPTS -cp CLASSPATH MAIN ARGS}. */
  public List<String> javaMain(List<String> jvmOptions, String mainClass, List<String> args) {
    List<String> c = new ArrayList<>();
    c.add(java());
    c.addAll(jvmOptions);
    c.add("-cp");
    c.add(classpath);
    c.add(mainClass);
    c.addAll(args);
    return c;
  }

  /**
   * {@code rotor serve ARGS} with these JVM options, from the jar if there is one. The admin HTTP
   * endpoint stays on, as deployed, but on a free port ({@code 127.0.0.1:0}): its default port
   * would make side-by-side Rotors (and other users' Rotors on this machine) fail to start. The load
   * client stands in for up to 1,000 Envoys (10,000 streams, 10 per connection) of one UID on one
   * socket, beyond the connection and stream limits sized for a pod, so those are raised.
   */
  public List<String> rotorServe(List<String> jvmOptions, List<String> serveArgs) {
    List<String> args = new ArrayList<>(serveArgs);
    args.addAll(List.of("--admin-address", "127.0.0.1:0", "--max-connections", "4096",
        "--max-connections-per-uid", "4096", "--max-streams", "20000"));
    return rotor(jvmOptions, "serve", args);
  }

  /** {@code rotor SUBCOMMAND ARGS} with these JVM options, from the jar if there is one. */
  public List<String> rotor(List<String> jvmOptions, String subcommand, List<String> subcommandArgs) {
    List<String> args = new ArrayList<>();
    args.add(subcommand);
    args.addAll(subcommandArgs);
    if (rotorJar.isPresent()) {
      List<String> c = new ArrayList<>();
      c.add(java());
      c.addAll(jvmOptions);
      c.add("-jar");
      c.add(rotorJar.get().toString());
      c.addAll(args);
      return c;
    }
    return javaMain(jvmOptions, "dev.rotor.cli.RotorMain", args);
  }

  /**
   * Starts a process with stdout and stderr in {@code dir/NAME.out} and {@code dir/NAME.err};
   * {@code env} entries are passed through {@code env(1)} (ManagedProcess takes a command only).
   */
  public static ManagedProcess start(String name, Path dir, Map<String, String> env, List<String> command) {
    List<String> c = new ArrayList<>();
    if (!env.isEmpty()) {
      c.add("env");
      env.forEach((k, v) -> c.add(k + "=" + v));
    }
    c.addAll(command);
    return ManagedProcess.start(name, c, dir.resolve(name + ".out"), dir.resolve(name + ".err"));
  }

  /** The current user's UID: Rotor's socket admits it, and SPIRE's entries select on it. */
  public static int uid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the UID of this process", e);
    }
  }
}
