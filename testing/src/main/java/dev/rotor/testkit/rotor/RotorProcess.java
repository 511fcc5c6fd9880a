package dev.rotor.testkit.rotor;

import static org.awaitility.Awaitility.await;

import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The real {@code rotor} program ({@code sds-server/target/rotor.jar}, built earlier in the same
 * reactor) as a child process: {@code java -jar rotor.jar serve --sds-socket SOCKET ARGS...}.
 * Its JSON-lines stdout goes to {@code NAME.stdout.jsonl} and its stderr to
 * {@code NAME.stderr.log} in the given directory.
 */
public final class RotorProcess implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final ManagedProcess process;
  private final Path sdsSocket;

  private RotorProcess(ManagedProcess process, Path sdsSocket) {
    this.process = process;
    this.sdsSocket = sdsSocket;
  }

  /**
   * Starts {@code rotor serve} with its SDS socket at {@code dir/NAME.sock} plus {@code args}, and
   * waits until the socket exists. Fails with Rotor's output if it exits first.
   */
  public static RotorProcess serve(Path dir, String name, List<String> args) {
    return serve(dir, name, List.of(), args);
  }

  /**
   * As {@link #serve(Path, String, List)}, with {@code launcher} in front of the java command,
   * e.g. {@code setpriv --regid=N --clear-groups} to run Rotor as another workload (another set
   * of Unix selectors for the SPIRE agent).
   */
  public static RotorProcess serve(Path dir, String name, List<String> launcher, List<String> args) {
    Path jar = jar();
    Path sdsSocket = dir.resolve(name + ".sock");
    List<String> command = new ArrayList<>(launcher);
    command.addAll(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-jar", jar.toString(),
        "serve",
        "--sds-socket", sdsSocket.toString()));
    if (!args.contains("--admin-address")) {
      // Tests run several Rotors at once; the default admin port (9902) would be taken by the first.
      command.addAll(List.of("--admin-address", "127.0.0.1:0"));
    }
    command.addAll(args);
    ManagedProcess process = ManagedProcess.start(name, command,
        dir.resolve(name + ".stdout.jsonl"), dir.resolve(name + ".stderr.log"));
    RotorProcess rotor = new RotorProcess(process, sdsSocket);
    try {
      await(name + " to listen on its SDS socket " + sdsSocket)
          .atMost(START_TIMEOUT)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> {
            process.checkAlive("waiting for " + sdsSocket);
            // Accepting, not merely present: a killed Rotor leaves its socket file behind.
            return accepts(sdsSocket);
          });
    } catch (ConditionTimeoutException e) {
      // Rotor is running but never bound its socket: say what it printed meanwhile.
      process.close();
      throw new IllegalStateException(e.getMessage() + "\n" + process.describe(60), e);
    } catch (RuntimeException e) {
      // checkAlive's message already carries Rotor's output.
      process.close();
      throw e;
    }
    return rotor;
  }

  public Path sdsSocket() {
    return sdsSocket;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Rotor's stdout so far: one JSON object per line (the last one may still be partial). */
  public List<String> stdoutLines() {
    try {
      return Files.readAllLines(process.stdout(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read Rotor's stdout " + process.stdout(), e);
    }
  }

  /**
   * The admin endpoint's base URL, e.g. {@code http://127.0.0.1:40123}, from Rotor's last "rotor
   * started" log line (tests start Rotor with {@code --admin-address 127.0.0.1:0}).
   */
  public String adminUrl() {
    java.util.regex.Pattern admin = java.util.regex.Pattern.compile("\"admin\"\\s*:\\s*\"(http://[^\"]+)\"");
    // The last one: a Rotor started again under the same name appends to the same file.
    String url = null;
    for (String line : stdoutLines()) {
      java.util.regex.Matcher m = admin.matcher(line);
      if (line.contains("rotor started") && m.find()) {
        url = m.group(1);
      }
    }
    if (url == null) {
      throw new IllegalStateException("no admin URL in Rotor's \"rotor started\" line\n" + describe());
    }
    return url;
  }

  /** The command line and the ends of Rotor's stdout and stderr. */
  public String describe() {
    return process.describe(60);
  }

  /** SIGKILL: Rotor gets no chance to close streams or remove its socket. */
  public void kill() {
    process.kill();
  }

  @Override
  public void close() {
    process.close();
  }

  private static boolean accepts(Path socket) {
    if (!Files.exists(socket)) {
      return false;
    }
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      channel.connect(UnixDomainSocketAddress.of(socket));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The shaded rotor jar built earlier in the same reactor (or by deploy/local/run.sh). */
  public static Path jar() {
    return RepoRoot.built("sds-server/target/rotor.jar",
        "`mvn -pl tests -am verify` before the integration tests run, or deploy/local/run.sh");
  }
}
