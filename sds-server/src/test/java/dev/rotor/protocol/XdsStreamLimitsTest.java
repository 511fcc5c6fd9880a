package dev.rotor.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.rotor.sds.SecretDiscoveryService;
import dev.rotor.sds.SecretState;
import dev.rotor.sds.ValidationForms;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.core.v3.BuildVersion;
import io.envoyproxy.envoy.config.core.v3.Extension;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.type.v3.SemanticVersion;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 13, finding 6: what one allowed client may make the xDS engine hold. The real SDS service
 * in process; each limit is small here so its edge is cheap to reach.
 */
class XdsStreamLimitsTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  private final ExecutorService pool = Executors.newFixedThreadPool(2);
  private final Set<StreamInfo> seen = ConcurrentHashMap.newKeySet();
  private XdsStreamFactory factory;
  private Server server;
  private ManagedChannel channel;

  @AfterEach
  void tearDown() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    pool.shutdownNow();
  }

  @Test
  void pastMaxStreams_aNewStreamIsRefusedResourceExhausted_andAPlaceFreesWhenOneCloses() throws Exception {
    start(new StreamLimits(3, 64 * 1024));
    List<Stream> open = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      open.add(sotw(node("envoy-" + i)));
    }
    await().atMost(WAIT).until(() -> factory.openStreams() == 3);

    Stream fourth = sotw(node("envoy-3"));

    Status refused = fourth.ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getDescription()).isEqualTo("too many xDS streams open on this Rotor (limit 3, --max-streams)");
    assertThat(factory.refusals()).containsEntry("stream_limit", 1L);

    open.get(0).requests.onCompleted();
    await().atMost(WAIT).until(() -> factory.openStreams() == 2);
    Stream fifth = sotw(node("envoy-4"));
    await().atMost(WAIT).until(() -> factory.openStreams() == 3);
    assertThat(fifth.ended).isNotDone();
  }

  @Test
  void aNodeOverMaxNodeBytes_endsTheStreamWithInvalidArgument() throws Exception {
    start(new StreamLimits(10, 64 * 1024));
    Node big = node("envoy").toBuilder().setMetadata(Struct.newBuilder()
        .putFields("labels", Value.newBuilder().setStringValue("x".repeat(2 << 20)).build())).build();

    Status s = sotw(big).ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);

    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).isEqualTo("node: " + big.getSerializedSize() + " bytes (expected: at most 65536,"
        + " --max-node-bytes)");
    assertThat(factory.refusals()).containsEntry("node_too_large", 1L);
    await().atMost(WAIT).until(() -> factory.openStreams() == 0);
  }

  @Test
  void aNodeIdLongerThan512Characters_isRefused_notCut() throws Exception {
    start(StreamLimits.DEFAULTS);

    Status s = sotw(node("n".repeat(513))).ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);

    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).isEqualTo("node.id: 513 characters (expected: at most 512)");
  }

  @Test
  void aStreamKeepsOnlyTheNodeFieldsRotorReads() throws Exception {
    start(StreamLimits.DEFAULTS);
    Node envoy = Node.newBuilder()
        .setId("backend-1")
        .setCluster("c".repeat(1_000))
        .setUserAgentName("envoy")
        .setUserAgentBuildVersion(BuildVersion.newBuilder()
            .setVersion(SemanticVersion.newBuilder().setMajorNumber(1).setMinorNumber(17))
            .setMetadata(Struct.newBuilder().putFields("build", Value.newBuilder().setStringValue("x".repeat(10_000))
                .build())))
        .setLocality(Locality.newBuilder().setRegion("eu").setZone("z".repeat(10_000)))
        .setMetadata(Struct.newBuilder()
            .putFields(ValidationForms.METADATA_KEY, Value.newBuilder().setBoolValue(true).build())
            .putFields("labels", Value.newBuilder().setStringValue("l".repeat(100_000)).build()))
        .addExtensions(Extension.newBuilder().setName("e".repeat(50_000)))
        .build();

    sotw(envoy);
    await().atMost(WAIT).until(() -> seen.stream().anyMatch(i -> i.nodeId().equals("backend-1")));

    Node kept = seen.stream().filter(i -> i.nodeId().equals("backend-1")).findFirst().orElseThrow().node();
    assertThat(kept).isEqualTo(Node.newBuilder()
        .setId("backend-1")
        .setCluster("c".repeat(128) + "...(1000 chars)")
        .setUserAgentName("envoy")
        .setUserAgentBuildVersion(BuildVersion.newBuilder()
            .setVersion(SemanticVersion.newBuilder().setMajorNumber(1).setMinorNumber(17)))
        .setMetadata(Struct.newBuilder()
            .putFields(ValidationForms.METADATA_KEY, Value.newBuilder().setBoolValue(true).build()))
        .build());
    assertThat(kept.getSerializedSize()).isLessThan(300);
  }

  @Test
  void theKeptMetadataKey_isTheOneValidationFormsReads() {
    assertThat(NodeFields.SPIFFE_VALIDATION_KEY).isEqualTo(ValidationForms.METADATA_KEY);
  }

  @Test
  void deltaSubscriptionsAddingUpPastTheNameLimit_endTheStream() throws Exception {
    start(StreamLimits.DEFAULTS);
    CompletableFuture<Status> ended = new CompletableFuture<>();
    StreamObserver<DeltaDiscoveryRequest> requests = SecretDiscoveryServiceGrpc.newStub(channel)
        .deltaSecrets(observer(ended));
    int perRequest = StreamOptions.DEFAULT_MAX_RESOURCE_NAMES; // the per-request limit, reached twice
    for (int r = 0; r < 2 && !ended.isDone(); r++) {
      DeltaDiscoveryRequest.Builder b = DeltaDiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.SECRET);
      if (r == 0) {
        b.setNode(node("delta"));
      }
      for (int i = 0; i < perRequest; i++) {
        b.addResourceNamesSubscribe("spiffe://example.org/r" + r + "/" + i);
      }
      requests.onNext(b.build());
    }

    Status s = ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).isEqualTo("resource_names_subscribe: 20000 names subscribed on this stream"
        + " (expected: at most 10000)");
    assertThat(factory.refusals()).containsEntry("subscription_limit", 1L);
  }

  private void start(StreamLimits limits) throws Exception {
    factory = new XdsStreamFactory(new ResourceStore(SecretState.initial(false)), pool, new XdsEventListener() {
      @Override
      public void subscriptionChanged(StreamInfo stream, String typeUrl, Set<String> names, boolean wildcard) {
        seen.add(stream);
      }
    }, limits);
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new SecretDiscoveryService(factory, () -> new Caller.PodLocal("test"))).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  private record Stream(StreamObserver<DiscoveryRequest> requests, CompletableFuture<Status> ended) {}

  private Stream sotw(Node node) {
    CompletableFuture<Status> ended = new CompletableFuture<>();
    StreamObserver<DiscoveryRequest> req = SecretDiscoveryServiceGrpc.newStub(channel).streamSecrets(observer(ended));
    req.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(TypeUrls.SECRET).addResourceNames("default")
        .build());
    return new Stream(req, ended);
  }

  private static <T> StreamObserver<T> observer(CompletableFuture<Status> ended) {
    return new StreamObserver<>() {
      @Override
      public void onNext(T value) {}

      @Override
      public void onError(Throwable t) {
        ended.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        ended.complete(Status.OK);
      }
    };
  }

  private static Node node(String id) {
    return Node.newBuilder().setId(id).build();
  }
}
