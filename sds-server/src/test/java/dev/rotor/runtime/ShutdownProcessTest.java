package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rotor.xds.TypeUrls;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real program as a child process: SIGTERM with an Envoy stream open ends the stream (UNAVAILABLE,
 * so Envoy reconnects at once), flushes the log and exits 0 within a bounded time.
 *
 * <p>It runs {@code sds-server/target/rotor.jar} when that jar is at least as new as the compiled
 * classes (after {@code mvn -pl sds-server -am package -DskipTests}); otherwise — in a plain
 * {@code mvn test}, where the jar is built only after the tests — the same main class from this
 * test's class path, with the jar's logback configuration, so the test never runs stale code.
 */
class ShutdownProcessTest {

  private static final Duration EXIT_WITHIN = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  @Test
  void sigterm_endsOpenStreams_flushesLogs_exitsZero() throws Exception {
    Path socket = dir.resolve("sds.sock");
    Path stdout = dir.resolve("rotor.stdout");
    Process rotor = start(stdout, "--sds-socket", socket.toString(), "--dev", "--admin-address", "127.0.0.1:0");
    awaitSocket(rotor, socket, stdout);

    try (XdsClient envoy = XdsClient.sds(channel(socket), "frontend")) {
      envoy.subscribe(TypeUrls.SECRET, "default");
      envoy.ack(envoy.await(), "default");

      long t0 = System.nanoTime();
      rotor.destroy(); // SIGTERM on Linux
      assertExitsZero(rotor, "SIGTERM", stdout);
      Status ended = envoy.awaitClosed(Duration.ofSeconds(5));
      assertThat(ended.getCode()).as("the open stream ended, not hung: " + ended)
          .isIn(Status.Code.UNAVAILABLE, Status.Code.OK);
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(EXIT_WITHIN);
    }

    List<JsonNode> lines = new ArrayList<>();
    for (String l : Files.readAllLines(stdout, StandardCharsets.UTF_8)) {
      lines.add(JSON.readTree(l)); // every line is one JSON object
    }
    JsonNode started = lines.stream().filter(l -> l.path("message").asText().equals("rotor started")).findFirst()
        .orElseThrow(() -> new AssertionError("no \"rotor started\" line"));
    assertThat(started.path("version").asText()).isNotEmpty();
    assertThat(started.path("sds_socket").asText()).isEqualTo(socket.toString());
    assertThat(started.path("admin").asText()).matches("http://127\\.0\\.0\\.1:\\d+");
    assertThat(started.path("tcp").asText()).isEqualTo("off");
    assertThat(lines.get(lines.size() - 1).path("message").asText()).as("the last line was flushed").isEqualTo("rotor stopped");
    assertThat(Files.exists(socket)).as("the socket file is removed").isFalse();
  }

  /** Issue 13, low: SIGHUP exited 129, leaving the socket file behind and cutting the streams. */
  @Test
  void sighup_isAGracefulStop_exitsZero_andRemovesTheSocket() throws Exception {
    Path socket = dir.resolve("sds.sock");
    Path stdout = dir.resolve("rotor.stdout");
    Process rotor = start(stdout, "--sds-socket", socket.toString(), "--dev", "--admin-address", "127.0.0.1:0");
    awaitSocket(rotor, socket, stdout);

    signal(rotor, "HUP");

    assertExitsZero(rotor, "SIGHUP", stdout);
    assertThat(read(stdout)).contains("rotor stopped");
    assertThat(Files.exists(socket)).as("the socket file is removed").isFalse();
  }

  /**
   * Issue 13, low: a SIGTERM in the first ~0.3 s, while the flags and files are read, exited 143.
   * Reading the policy from a FIFO holds Rotor exactly there until the signal has been sent.
   */
  @Test
  void sigtermWhileTheFlagsAndFilesAreRead_exitsZero() throws Exception {
    Path fifo = dir.resolve("policy.fifo");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0).as("mkfifo").isTrue();
    Path stdout = dir.resolve("rotor.stdout");
    // Opening a FIFO to write returns once a reader has opened it: then Rotor waits in read().
    CompletableFuture<OutputStream> writer = CompletableFuture.supplyAsync(() -> {
      try {
        return new FileOutputStream(fifo.toFile());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    cleanup.add(() -> {
      try (RandomAccessFile unblock = new RandomAccessFile(fifo.toFile(), "rw")) {
        // a read-write open never blocks, and releases a writer still waiting for a reader
      }
      if (writer.isDone() && !writer.isCompletedExceptionally()) {
        writer.get().close();
      }
    });
    Process rotor = start(stdout, "--sds-socket", dir.resolve("sds.sock").toString(), "--dev", "--admin-address",
        "127.0.0.1:0", "--policy", fifo.toString());
    writer.get(60, TimeUnit.SECONDS);
    assertThat(rotor.isAlive()).as("rotor, reading the policy FIFO").isTrue();

    rotor.destroy(); // SIGTERM

    assertExitsZero(rotor, "SIGTERM", stdout);
  }

  private static void assertExitsZero(Process rotor, String signal, Path stdout) throws InterruptedException {
    assertThat(rotor.waitFor(EXIT_WITHIN.toMillis(), TimeUnit.MILLISECONDS))
        .as("rotor exits within %s of %s; output:%n%s", EXIT_WITHIN, signal, read(stdout)).isTrue();
    assertThat(rotor.exitValue()).as(read(stdout)).isZero();
  }

  private static void signal(Process p, String name) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).as("kill -%s", name).isZero();
  }

  @Test
  void logFormatText_printsReadableLines_atTheAskedLevel() throws Exception {
    Path socket = dir.resolve("sds.sock");
    Path stdout = dir.resolve("rotor.stdout");
    // Not on loopback: Rotor warns about it, which gives a WARN line to look at.
    Process rotor = start(stdout, "--sds-socket", socket.toString(), "--dev", "--admin-address", "0.0.0.0:0",
        "--log-format", "text", "--log-level", "warn");
    awaitSocket(rotor, socket, stdout);
    await("the warning").atMost(Duration.ofSeconds(30)).until(() -> read(stdout).contains("not on loopback"));
    rotor.destroy();
    assertThat(rotor.waitFor(EXIT_WITHIN.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertThat(rotor.exitValue()).isZero();
    String out = read(stdout);
    assertThat(out).doesNotContain("{\"").doesNotContain(" INFO ");
    assertThat(out.lines().filter(l -> l.contains("not on loopback")).findFirst().orElseThrow())
        .matches("\\d{4}-\\d\\d-\\d\\dT\\S+ WARN  \\S+: admin endpoint is not on loopback.* address=\\S+");
  }

  private Process start(Path stdout, String... args) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // SIGHUP at its default, as a login shell starts Rotor: under nohup (a build run that way) it is
    // ignored for this JVM and everything it starts, and the JVM then leaves it ignored.
    List<String> command = new ArrayList<>(List.of("env", "--default-signal=HUP", java));
    Path jar = Path.of("target", "rotor.jar");
    Path classes = Path.of("target", "classes", "dev", "rotor", "runtime", "ServeRuntime.class");
    if (Files.isRegularFile(jar) && Files.isRegularFile(classes)
        && Files.getLastModifiedTime(jar).compareTo(Files.getLastModifiedTime(classes)) >= 0) {
      command.addAll(List.of("-jar", jar.toString()));
    } else {
      command.addAll(List.of("-cp", System.getProperty("java.class.path"),
          "-Dlogback.configurationFile=" + Path.of("target", "classes", "logback.xml").toAbsolutePath(),
          "dev.rotor.cli.RotorMain"));
    }
    command.add("serve");
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command)
        .redirectOutput(stdout.toFile())
        .redirectError(ProcessBuilder.Redirect.appendTo(stdout.toFile()))
        .start();
    cleanup.add(() -> {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    });
    return p;
  }

  private static void awaitSocket(Process rotor, Path socket, Path stdout) {
    await("rotor to listen on " + socket).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
        .until(() -> {
          if (!rotor.isAlive()) {
            throw new AssertionError("rotor exited with " + rotor.exitValue() + ":\n" + read(stdout));
          }
          return Files.exists(socket);
        });
  }

  private ManagedChannel channel(Path socket) {
    EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .withOption(ChannelOption.SO_KEEPALIVE, null)
        .eventLoopGroup(loops)
        .usePlaintext()
        .build();
    cleanup.add(() -> loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS));
    cleanup.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return channel;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e.getMessage() + ")";
    }
  }
}
