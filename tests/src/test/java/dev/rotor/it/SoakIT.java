package dev.rotor.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.rotor.RotorProcess;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Soak: 1,000 SDS streams on one {@code rotor serve --dev} process whose SVID rotates every
 * 10 s (a 20 s TTL, renewed at half-life), for {@code -Dsoak.minutes} (default 10). Every stream
 * must receive every rotation, in order, exactly once; streams that NACK every response must not
 * be sent the rejected version again (no NACK storm); Rotor's heap after a full GC, sampled every
 * 30 s with jcmd, must stay flat (its least-squares slope is reported).
 *
 * <p>Not in the default run (failsafe excludes it): {@code mvn -B -pl tests -am verify
 * -Dit.test=SoakIT -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false -Dsoak.minutes=10}.
 */
class SoakIT {
  private static final int STREAMS = 1_000;
  private static final int NACKING_STREAMS = 10;
  private static final int CONNECTIONS = 50;
  private static final Duration ROTATION = Duration.ofSeconds(10);
  private static final Duration SAMPLE_EVERY = Duration.ofSeconds(30);
  /** Flat: well under what one retained response per stream per rotation would add (~3 MB/min). */
  private static final double MAX_SLOPE_KB_PER_MINUTE = 512;
  private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");
  private static final Pattern SERIAL = Pattern.compile("serial=([0-9a-f]+)");

  @RegisterExtension
  static final LogsOnFailure logs = new LogsOnFailure();

  private Path dir;
  private RotorProcess rotor;
  private EventLoopGroup loop;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeEach
  void start() throws IOException {
    dir = Files.createTempDirectory(Path.of("/tmp"), "rotor-soak-");
    rotor = RotorProcess.serve(dir, "rotor", List.of("--dev", "--svid-ttl", "20s",
        // Below half of the SVID TTL, as the flag parser requires with --dev.
        "--ready-expiry-margin", "5s",
        "--allowed-uid", Integer.toString(uid())));
    logs.add(rotor::describe);
    loop = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
  }

  @AfterEach
  void stop() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (loop != null) {
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
    if (rotor != null) {
      rotor.close();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void thousandStreamsThroughTenSecondRotations_everyVersionInOrderNoNackStormFlatHeap() throws Exception {
    Duration length = Duration.ofMinutes(Long.getLong("soak.minutes", 10));
    for (int i = 0; i < CONNECTIONS; i++) {
      channels.add(NettyChannelBuilder.forAddress(new DomainSocketAddress(rotor.sdsSocket().toString()))
          .channelType(EpollDomainSocketChannel.class)
          .withOption(ChannelOption.SO_KEEPALIVE, null)
          .eventLoopGroup(loop)
          .directExecutor()
          .usePlaintext()
          .build());
    }
    List<Recorder> streams = new ArrayList<>();
    for (int i = 0; i < STREAMS + NACKING_STREAMS; i++) {
      Recorder r = new Recorder(i >= STREAMS);
      var requests = SecretDiscoveryServiceGrpc.newStub(channels.get(i % CONNECTIONS)).streamSecrets(r);
      r.start(requests, Node.newBuilder().setId("soak-" + i).setCluster("soak").build());
      streams.add(r);
    }
    await("a first response on every stream").atMost(Duration.ofSeconds(60))
        .until(() -> streams.stream().allMatch(r -> !r.serials.isEmpty()));

    Instant start = Instant.now();
    List<double[]> heap = new CopyOnWriteArrayList<>(); // {minutes since start, KB used after a full GC}
    heap.add(new double[] {0, heapAfterGcKb()});
    AtomicReference<Instant> nextSample = new AtomicReference<>(start.plus(SAMPLE_EVERY));
    Instant end = start.plus(length);
    await("the soak to run " + length).atMost(length.plusMinutes(2)).pollInterval(Duration.ofSeconds(1))
        .until(() -> {
          assertThat(rotor.isAlive()).as("Rotor alive").isTrue();
          Instant now = Instant.now();
          if (!now.isBefore(nextSample.get())) {
            heap.add(new double[] {Duration.between(start, now).toMillis() / 60_000.0, heapAfterGcKb()});
            nextSample.set(nextSample.get().plus(SAMPLE_EVERY));
          }
          return !now.isBefore(end);
        });
    // The rotation in flight at the end reaches everyone before the books are closed.
    await("every stream to hold the newest certificate").atMost(ROTATION.multipliedBy(2))
        .until(() -> {
          List<String> served = rotationsInOrder();
          String newest = served.get(served.size() - 1);
          return streams.stream().allMatch(r -> r.lastSerial().equals(newest));
        });
    List<String> expected = rotationsInOrder();

    int rotations = expected.size();
    for (Recorder r : streams) {
      List<String> got = r.serials;
      int from = expected.indexOf(got.get(0));
      assertThat(from).as("the first certificate of a stream is one Rotor served").isNotNegative();
      assertThat(got).as("certificates received, in order, exactly once each (%s)", r.nacking ? "NACKing" : "ACKing")
          .containsExactlyElementsOf(expected.subList(from, expected.size()));
      assertThat(r.ended).as("a stream ended during the soak").isFalse();
    }
    double slope = slopeKbPerMinute(heap);
    System.out.printf("soak: %d streams (%d NACKing), %d rotations in %s, %d responses; heap after GC %s KB; slope %.1f KB/min%n",
        streams.size(), NACKING_STREAMS, rotations, Duration.between(start, Instant.now()).withNanos(0),
        streams.stream().mapToInt(r -> r.serials.size()).sum(),
        heap.stream().map(s -> String.format("%.1fmin=%d", s[0], (long) s[1])).toList(), slope);
    assertThat(rotations).as("rotations seen").isGreaterThanOrEqualTo((int) (length.toSeconds() / ROTATION.toSeconds()) - 1);
    assertThat(slope).as("heap slope after full GCs, KB/min").isLessThan(MAX_SLOPE_KB_PER_MINUTE);
  }

  /** The serials Rotor announced serving, in order, from its JSON log. */
  private List<String> rotationsInOrder() {
    LinkedHashSet<String> serials = new LinkedHashSet<>();
    for (String line : rotor.stdoutLines()) {
      if (line.contains("\"serving identity\"")) {
        Matcher m = SERIAL.matcher(line);
        if (m.find()) {
          serials.add(m.group(1));
        }
      }
    }
    return new ArrayList<>(serials);
  }

  private long heapAfterGcKb() throws IOException, InterruptedException {
    jcmd("GC.run");
    Matcher m = HEAP_USED.matcher(jcmd("GC.heap_info"));
    if (!m.find()) {
      throw new AssertionError("no heap figure in jcmd GC.heap_info");
    }
    return Long.parseLong(m.group(1));
  }

  private String jcmd(String command) throws IOException, InterruptedException {
    Path out = Files.createTempFile(dir, "jcmd-", ".txt");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
        Long.toString(rotor.pid()), command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("jcmd " + command + " did not finish within 60 s");
    }
    return Files.readString(out, StandardCharsets.UTF_8);
  }

  private static double slopeKbPerMinute(List<double[]> samples) {
    double n = samples.size();
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (double[] s : samples) {
      sx += s[0];
      sy += s[1];
      sxx += s[0] * s[0];
      sxy += s[0] * s[1];
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
  }

  private static int uid() throws IOException {
    return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
  }

  /** One stream: ACKs (or NACKs) every response and records the leaf serial of each. */
  private static final class Recorder implements ClientResponseObserver<DiscoveryRequest, DiscoveryResponse> {
    final boolean nacking;
    final List<String> serials = new CopyOnWriteArrayList<>();
    volatile boolean ended;
    private io.grpc.stub.StreamObserver<DiscoveryRequest> requests;
    private String lastAccepted = "";

    Recorder(boolean nacking) {
      this.nacking = nacking;
    }

    void start(io.grpc.stub.StreamObserver<DiscoveryRequest> requests, Node node) {
      synchronized (this) {
        this.requests = requests;
        requests.onNext(DiscoveryRequest.newBuilder().setNode(node)
            .setTypeUrl(SdsTestClient.SECRET_TYPE_URL).addResourceNames("default").build());
      }
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {}

    @Override
    public void onNext(DiscoveryResponse response) {
      try {
        Secret s = response.getResources(0).unpack(Secret.class);
        serials.add(SecretMaterial.leaf(s).getSerialNumber().toString(16));
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        serials.add("unreadable");
      }
      DiscoveryRequest.Builder reply = DiscoveryRequest.newBuilder().setTypeUrl(SdsTestClient.SECRET_TYPE_URL)
          .addResourceNames("default").setResponseNonce(response.getNonce());
      if (nacking) {
        reply.setVersionInfo(lastAccepted).setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3)
            .setMessage("soak: rejected on purpose"));
      } else {
        lastAccepted = response.getVersionInfo();
        reply.setVersionInfo(lastAccepted);
      }
      synchronized (this) {
        requests.onNext(reply.build());
      }
    }

    @Override
    public void onError(Throwable t) {
      ended = true;
    }

    @Override
    public void onCompleted() {
      ended = true;
    }

    String lastSerial() {
      return serials.isEmpty() ? "" : serials.get(serials.size() - 1);
    }
  }
}
