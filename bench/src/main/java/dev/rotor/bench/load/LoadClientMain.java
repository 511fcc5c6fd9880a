package dev.rotor.bench.load;

import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.io.BufferedWriter;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load client: a separate process that opens N xDS streams the way Envoy does and stamps
 * every response with the wall clock.
 *
 * <p>SDS mode: one {@code StreamSecrets} stream per secret name (Envoy opens one per name when SDS
 * is not on ADS, envoy#10793); ADS mode: one {@code StreamAggregatedResources} stream per Envoy,
 * subscribed to clusters and listeners (wildcard) and the secrets. Either way the node goes on
 * the first request only ({@code set_node_on_first_message_only}), and every response is ACKed at
 * once with its version and nonce. Responses are handled on the Netty event loop (direct
 * executor), so the stamp is taken when the message has been read and decoded, with no queueing
 * in between. Streams are spread over connections, {@code perConnection} to a connection, each
 * connection being one Envoy-like node.
 *
 * <p>Protocol with the harness, on stdout: {@code READY n} once every stream has its first
 * response, {@code UPDATE k version} for each clean update delivered to every stream, then
 * {@code DONE} (exit 0), {@code TIMEOUT} (exit 2) or {@code FAIL reason} (exit 1). The arrival
 * log ({@link ArrivalLog}) is written before the last line.
 */
public final class LoadClientMain {

  private final LoadOptions options;
  private final PrintStream console;
  private final EventLoopGroup eventLoop;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final Recorder[] recorders;
  private final AtomicInteger readyStreams = new AtomicInteger();
  private final AtomicLong readyAt = new AtomicLong();
  private final Map<String, VersionProgress> versions = new ConcurrentHashMap<>();
  private final Map<String, String> serialByVersion = new ConcurrentHashMap<>();
  private final List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger cleanUpdates = new AtomicInteger();
  private final CountDownLatch ready = new CountDownLatch(1);
  private final CountDownLatch done = new CountDownLatch(1);
  private WorkloadProbe probe;

  /** How far one version has spread. */
  private static final class VersionProgress {
    final boolean clean;
    final AtomicInteger streams = new AtomicInteger();

    VersionProgress(boolean clean) {
      this.clean = clean;
    }
  }

  private LoadClientMain(LoadOptions options, PrintStream console) {
    this.options = options;
    this.console = console;
    this.eventLoop = new MultiThreadIoEventLoopGroup(options.eventLoopThreads(), EpollIoHandler.newFactory());
    this.recorders = new Recorder[options.streams()];
  }

  public static void main(String[] args) throws Exception {
    LoadOptions options;
    try {
      options = LoadOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.out.println("FAIL bad arguments: " + e.getMessage());
      System.exit(1);
      return;
    }
    int status = new LoadClientMain(options, System.out).run();
    System.out.flush();
    // Do not wait for N streams to be cancelled one by one: the harness is done with this process.
    Runtime.getRuntime().halt(status);
  }

  private int run() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + options.timeout().toNanos();
    long start = WallClock.nowNanos();
    options.probeSocket().ifPresent(this::startProbe);
    int connections = (options.streams() + options.perConnection() - 1) / options.perConnection();
    for (int c = 0; c < connections; c++) {
      channels.add(channel(options.socket()));
    }
    for (int s = 0; s < options.streams(); s++) {
      int c = s / options.perConnection();
      recorders[s] = new Recorder(s);
      open(recorders[s], channels.get(c), c);
    }
    boolean isReady = ready.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    if (isReady) {
      console.println("READY " + options.streams());
      console.flush();
    }
    boolean finished = isReady
        && (options.updates() == 0 || done.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
    if (finished && !options.hold().isZero()) {
      Thread.sleep(options.hold().toMillis());
    }
    writeLog(start);
    if (!isReady) {
      console.println("FAIL only " + readyStreams.get() + " of " + options.streams()
          + " streams had a first response before the timeout; " + errors.size() + " stream errors"
          + (errors.isEmpty() ? "" : ", first: " + errors.get(0)));
      return 1;
    }
    console.println(finished ? "DONE" : "TIMEOUT");
    return finished ? 0 : 2;
  }

  private ManagedChannel channel(Path socket) {
    return NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .eventLoopGroup(eventLoop)
        .channelType(EpollDomainSocketChannel.class)
        .overrideAuthority("localhost")
        .directExecutor()
        .maxInboundMessageSize(64 << 20)
        .usePlaintext()
        .build();
  }

  private void open(Recorder r, ManagedChannel channel, int connection) {
    if (options.mode() == LoadOptions.Mode.SDS) {
      String name = options.secretNames().get(r.stream % options.secretNames().size());
      Node node = Node.newBuilder().setId(options.nodeId() + "-" + connection).setCluster("bench").build();
      r.subscribe(SecretDiscoveryServiceGrpc.newStub(channel).streamSecrets(r), List.of(DiscoveryRequest.newBuilder()
          .setNode(node).setTypeUrl(TypeUrls.SECRET).addResourceNames(name).build()));
    } else {
      Node node = Node.newBuilder().setId(options.nodeId()).setCluster("bench").build();
      // Envoy on ADS: clusters first, then listeners (both wildcard), then the secrets they refer to.
      r.subscribe(AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(r), List.of(
          DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(TypeUrls.CLUSTER).build(),
          DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.LISTENER).build(),
          DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.SECRET).addAllResourceNames(options.secretNames()).build()));
    }
  }

  /** Which responses are timed: SDS its secret, ADS its listeners. */
  private boolean timed(DiscoveryResponse response) {
    return options.mode() == LoadOptions.Mode.SDS || TypeUrls.LISTENER.equals(response.getTypeUrl());
  }

  private void arrived(Recorder r, DiscoveryResponse response, long now) {
    String version = response.getVersionInfo();
    boolean first = r.count == 0;
    r.add(now, version);
    VersionProgress p = versions.computeIfAbsent(version, v -> {
      if (options.mode() == LoadOptions.Mode.SDS) {
        serialOf(response).ifPresent(serial -> serialByVersion.put(v, serial));
      }
      return new VersionProgress(readyAt.get() != 0);
    });
    int has = p.streams.incrementAndGet();
    if (first && readyStreams.incrementAndGet() == options.streams()) {
      readyAt.set(WallClock.nowNanos());
      ready.countDown();
    }
    if (p.clean && has == options.streams()) {
      int k = cleanUpdates.incrementAndGet();
      synchronized (console) {
        console.println("UPDATE " + k + " " + version);
        console.flush();
      }
      if (k >= options.updates()) {
        done.countDown();
      }
    }
  }

  /** The leaf serial of the secret in this response, decoded once per version for matching. */
  private static java.util.Optional<String> serialOf(DiscoveryResponse response) {
    try {
      for (var any : response.getResourcesList()) {
        Secret s = Secret.parseFrom(any.getValue());
        if (s.hasTlsCertificate()) {
          byte[] pem = s.getTlsCertificate().getCertificateChain().getInlineBytes().toByteArray();
          X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
              .generateCertificate(new ByteArrayInputStream(pem));
          return java.util.Optional.of(leaf.getSerialNumber().toString(16));
        }
      }
    } catch (Exception e) {
      // Not a TLS certificate secret we can read: the harness then matches by time instead.
    }
    return java.util.Optional.empty();
  }

  private void startProbe(Path agentSocket) {
    probe = new WorkloadProbe(agentSocket, errors::add, eventLoop);
  }

  private void writeLog(long start) throws IOException {
    try (BufferedWriter w = ArrivalLog.open(options.out())) {
      ArrivalLog.write(w, "S", Long.toString(start), Integer.toString(options.streams()));
      if (readyAt.get() != 0) {
        ArrivalLog.write(w, "R", Long.toString(readyAt.get()));
      }
      for (Recorder r : recorders) {
        if (r != null) {
          r.writeTo(w);
        }
      }
      for (Map.Entry<String, String> e : serialByVersion.entrySet()) {
        ArrivalLog.write(w, "V", e.getKey(), e.getValue());
      }
      if (probe != null) {
        for (WorkloadProbe.Arrival p : probe.arrivals()) {
          ArrivalLog.write(w, "P", Long.toString(p.nanos()), p.serial());
        }
      }
      synchronized (errors) {
        for (String e : errors) {
          ArrivalLog.write(w, "E", e);
        }
      }
    }
  }

  /**
   * One stream: sends the initial requests, ACKs every response, and records the timed ones. All
   * callbacks of a stream run on its connection's event loop, one at a time; the request observer
   * is touched only there and by {@link #subscribe} before the first response can arrive.
   */
  private final class Recorder implements StreamObserver<DiscoveryResponse> {
    final int stream;
    private StreamObserver<DiscoveryRequest> requests;
    private final Map<String, List<String>> namesByType = new ConcurrentHashMap<>();
    // Appended on the event loop, read after the run.
    private long[] times = new long[4];
    private String[] versionsSeen = new String[4];
    private int count;

    Recorder(int stream) {
      this.stream = stream;
    }

    void subscribe(StreamObserver<DiscoveryRequest> requests, List<DiscoveryRequest> initial) {
      synchronized (this) {
        this.requests = requests;
        for (DiscoveryRequest r : initial) {
          namesByType.put(r.getTypeUrl(), r.getResourceNamesList());
          requests.onNext(r);
        }
      }
    }

    @Override
    public void onNext(DiscoveryResponse response) {
      long now = WallClock.nowNanos();
      synchronized (this) {
        requests.onNext(DiscoveryRequest.newBuilder()
            .setTypeUrl(response.getTypeUrl())
            .addAllResourceNames(namesByType.getOrDefault(response.getTypeUrl(), List.of()))
            .setVersionInfo(response.getVersionInfo())
            .setResponseNonce(response.getNonce())
            .build());
        if (timed(response)) {
          arrived(this, response, now);
        }
      }
    }

    void add(long now, String version) {
      if (count == times.length) {
        times = java.util.Arrays.copyOf(times, count * 2);
        versionsSeen = java.util.Arrays.copyOf(versionsSeen, count * 2);
      }
      times[count] = now;
      versionsSeen[count] = version;
      count++;
    }

    synchronized void writeTo(BufferedWriter w) throws IOException {
      for (int i = 0; i < count; i++) {
        ArrivalLog.write(w, "A", Integer.toString(stream), Long.toString(times[i]), versionsSeen[i]);
      }
    }

    @Override
    public void onError(Throwable t) {
      errors.add(stream + " " + WallClock.nowNanos() + " " + Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      errors.add(stream + " " + WallClock.nowNanos() + " completed by the server");
    }
  }
}
