package dev.rotor.transport;

import dev.rotor.protocol.Caller;
import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.config.AggregatedDiscoveryService;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.protocol.ResourceStore;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.protocol.XdsStreamFactory;
import dev.rotor.sds.SecretDiscoveryService;
import dev.rotor.sds.SecretState;
import dev.rotor.testing.TestPki;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.SecretNaming;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientStreamTracer;
import io.grpc.ForwardingClientCall.SimpleForwardingClientCall;
import io.grpc.ForwardingClientCallListener.SimpleForwardingClientCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A caller whose UID is not allowed receives zero bytes of key material from the real SDS and
 * ADS services over the Unix socket: every message that reaches the client is recorded below gRPC's
 * stubs (an interceptor for messages, a stream tracer for their wire bytes), and there must be
 * none, on every kind of call. The same recorder on an allowed caller sees the key material, so it
 * would see a leak.
 */
class DeniedCallerReceivesNothingTest {

  private static final int MY_UID = currentUid();
  private static final TestPki PKI = TestPki.forTrustDomain("example.org");

  @TempDir Path dir;

  private final ResourceStore store = new ResourceStore(SecretState.initial(false));
  private final ExecutorService pool = Executors.newFixedThreadPool(2);
  private final EventLoopGroup clientLoop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private UdsServer server;
  private ManagedChannel channel;

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    if (server != null) {
      server.close();
    }
    pool.shutdownNow();
  }

  @Test
  void uidNotAllowed_everyCallIsDeniedAndNotOneByteArrives() throws Exception {
    Recorder recorder = serveAndConnect(MY_UID + 4242);

    assertThat(callEverything(recorder))
        .as("how each call ended")
        .containsOnlyKeys("StreamSecrets", "DeltaSecrets", "FetchSecrets", "StreamAggregatedResources",
            "DeltaAggregatedResources")
        // Refused at the handshake, before HTTP/2 (issue 13, finding 5): the calls fail UNAVAILABLE.
        .allSatisfy((call, code) -> assertThat(code).as(call).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(recorder.messages.get()).as("messages that reached the denied caller").isZero();
    assertThat(recorder.wireBytes.get()).as("message bytes that reached the denied caller").isZero();
  }

  @Test
  void control_anAllowedCallerReceivesTheKeyMaterialThroughTheSameRecorder() throws Exception {
    Recorder recorder = serveAndConnect(MY_UID);

    DiscoveryRequest fetch = DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.SECRET).addResourceNames("default").build();
    var response = SecretDiscoveryServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .fetchSecrets(fetch);

    assertThat(response.getResourcesCount()).isEqualTo(1);
    assertThat(recorder.messages.get()).isEqualTo(1);
    assertThat(recorder.wireBytes.get()).isGreaterThan(500); // a certificate chain and a private key
  }

  private Recorder serveAndConnect(int allowedUid) throws Exception {
    Svid svid = PKI.issue("/workload");
    store.publish(new SecretState(1, System.nanoTime(), SecretCatalog.build(
        IdentitySnapshot.of(List.of(svid), Map.of(TrustDomain.parse("example.org"), PKI.bundle())),
        SecretNaming.SPIRE_DEFAULTS), false));
    XdsStreamFactory streams = new XdsStreamFactory(store, pool, XdsEventListener.all(List.of()));
    server = UdsServer.start(UdsServerOptions.of(dir.resolve("sds.sock"), Set.of(allowedUid)), List.of(
        new SecretDiscoveryService(streams, () -> new Caller.PodLocal("test")).bindService(),
        new AggregatedDiscoveryService(streams, () -> new Caller.PodLocal("test")).bindService()));
    Recorder recorder = new Recorder();
    channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(server.socketPath().toString()))
        .channelType(EpollDomainSocketChannel.class)
        .withOption(ChannelOption.SO_KEEPALIVE, null)
        .eventLoopGroup(clientLoop)
        .intercept(recorder)
        .usePlaintext()
        .build();
    return recorder;
  }

  /** Every SDS and ADS call a client can make, each asking for every secret; how each ended. */
  private Map<String, Status.Code> callEverything(Recorder recorder) throws Exception {
    Node node = Node.newBuilder().setId("envoy").build();
    DiscoveryRequest sotw = DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(TypeUrls.SECRET)
        .addAllResourceNames(List.of("default", "ROOTCA", "ALL")).build();
    DeltaDiscoveryRequest delta = DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(TypeUrls.SECRET)
        .addAllResourceNamesSubscribe(List.of("default", "ROOTCA", "ALL")).build();
    var sds = SecretDiscoveryServiceGrpc.newStub(channel);
    var ads = AggregatedDiscoveryServiceGrpc.newStub(channel);

    Ending<DiscoveryResponse> streamSecrets = new Ending<>();
    sds.streamSecrets(streamSecrets).onNext(sotw);
    Ending<DeltaDiscoveryResponse> deltaSecrets = new Ending<>();
    sds.deltaSecrets(deltaSecrets).onNext(delta);
    Ending<DiscoveryResponse> streamAds = new Ending<>();
    ads.streamAggregatedResources(streamAds).onNext(sotw);
    Ending<DeltaDiscoveryResponse> deltaAds = new Ending<>();
    ads.deltaAggregatedResources(deltaAds).onNext(delta);
    Status.Code fetch;
    try {
      SecretDiscoveryServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS).fetchSecrets(sotw);
      fetch = Status.Code.OK;
    } catch (StatusRuntimeException e) {
      fetch = e.getStatus().getCode();
    }
    return Map.of(
        "StreamSecrets", streamSecrets.code(),
        "DeltaSecrets", deltaSecrets.code(),
        "FetchSecrets", fetch,
        "StreamAggregatedResources", streamAds.code(),
        "DeltaAggregatedResources", deltaAds.code());
  }

  /** Ends of a streaming call, as the client saw them. */
  private static final class Ending<T> implements StreamObserver<T> {
    private final CompletableFuture<Status.Code> ended = new CompletableFuture<>();

    @Override
    public void onNext(T value) {
      // Counted by the recorder; a denied call must never get here.
    }

    @Override
    public void onError(Throwable t) {
      ended.complete(Status.fromThrowable(t).getCode());
    }

    @Override
    public void onCompleted() {
      ended.complete(Status.Code.OK);
    }

    Status.Code code() throws Exception {
      return ended.get(5, TimeUnit.SECONDS);
    }
  }

  /** Counts every message, and its bytes on the wire, that reaches the client on any call. */
  private static final class Recorder implements ClientInterceptor {
    final AtomicLong messages = new AtomicLong();
    final AtomicLong wireBytes = new AtomicLong();

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
        MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
      CallOptions traced = options.withStreamTracerFactory(new ClientStreamTracer.Factory() {
        @Override
        public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
          return new ClientStreamTracer() {
            @Override
            public void inboundWireSize(long bytes) {
              wireBytes.addAndGet(bytes);
            }
          };
        }
      });
      return new SimpleForwardingClientCall<>(next.newCall(method, traced)) {
        @Override
        public void start(Listener<RespT> listener, Metadata headers) {
          super.start(new SimpleForwardingClientCallListener<>(listener) {
            @Override
            public void onMessage(RespT message) {
              messages.incrementAndGet();
              super.onMessage(message);
            }
          }, headers);
        }
      };
    }
  }

  private static int currentUid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
