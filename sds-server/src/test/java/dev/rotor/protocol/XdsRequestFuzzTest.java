package dev.rotor.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.rotor.config.PolicyResources;
import dev.rotor.config.ServingState;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.policy.PolicyException;
import dev.rotor.policy.PolicyParser;
import dev.rotor.sds.SecretState;
import dev.rotor.testing.TestPki;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.envoy.SdsSecretConfigs;
import dev.rotor.xds.envoy.WorkloadResourcesBuilder;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.SecretNaming;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Fuzz target for the protocol engine as a client drives it: arbitrary bytes, parsed as gRPC
 * would parse them ({@code DiscoveryRequest.parseFrom}, {@code DeltaDiscoveryRequest.parseFrom}),
 * or built from the protocol's vocabulary (types, secret and listener names, nodes, nonces, ACKs,
 * NACKs, unsubscribes, initial versions), fed to one real SotW or delta stream of the SDS or ADS
 * service, interleaved with rotations and flow-control stalls; requests may answer the stream's
 * last nonce, so ACK and NACK paths are reached too. The engine must never fail a stream with INTERNAL (its answer to an
 * unexpected exception), never send a response without a nonce, a resource of another type than
 * the response's or a duplicate name (rule 9), and must stop listening to the store when the
 * stream ends. Seeds and past findings: {@code XdsRequestFuzzTestInputs/}.
 */
class XdsRequestFuzzTest {

  private static final String POLICY = """
      version: 1
      trustDomain: example.org
      workloads:
        - name: backend
          match: {nodeIds: [backend], spiffeIds: [spiffe://example.org/ns/demo/sa/backend]}
          inbound:
            port: 8080
            appPort: 9090
            protocol: http
            rules:
              - action: allow
                from: [{spiffeId: spiffe://example.org/ns/demo/sa/frontend}]
        - name: frontend
          match: {nodeIds: [frontend], spiffeIds: [spiffe://example.org/ns/demo/sa/frontend]}
          outbound:
            - name: backend
              port: 9001
              address: backend.demo.svc.cluster.local:8080
              spiffeIds: [spiffe://example.org/ns/demo/sa/backend]
      """;
  private static final TestPki PKI = TestPki.forTrustDomain("example.org");
  private static final List<XdsState> STATES = List.of(state(1), state(2), state(3));
  private static final StreamOptions SDS = StreamOptions.singleType(TypeUrls.SECRET);
  private static final StreamOptions ADS = StreamOptions.aggregated(ServingState.ADS_TYPES);

  @FuzzTest(maxDuration = "60s", maxExecutions = 1_200_000)
  void requestsOnOneStream(FuzzedDataProvider data) {
    ResourceStore store = new ResourceStore(STATES.get(0));
    XdsStreamFactory streams = new XdsStreamFactory(store, MoreExecutors.directExecutor(),
        XdsEventListener.all(List.of()));
    boolean delta = data.consumeBoolean();
    boolean ads = data.consumeBoolean();
    StreamOptions options = ads ? ADS : SDS;
    FakeCall<Object> call = new FakeCall<>();
    StreamObserver<DiscoveryRequest> sotw = null;
    StreamObserver<DeltaDiscoveryRequest> incremental = null;
    if (delta) {
      incremental = streams.openDelta(ads ? StreamInfo.Kind.ADS_DELTA : StreamInfo.Kind.SDS_DELTA, options,
          call.as(), new Caller.PodLocal("fuzz"));
    } else {
      sotw = streams.openSotw(ads ? StreamInfo.Kind.ADS_SOTW : StreamInfo.Kind.SDS_SOTW, options, call.as(), new Caller.PodLocal("fuzz"));
    }

    int steps = data.consumeInt(1, 12);
    for (int i = 0; i < steps && call.open() && data.remainingBytes() > 0; i++) {
      switch (data.consumeInt(0, 6)) {
        case 0 -> store.publish(STATES.get(data.consumeInt(0, STATES.size() - 1)));
        case 1 -> call.setReady(!call.ready);
        case 2 -> {
          // Raw bytes, as gRPC parses them off the wire.
          boolean answerLast = data.consumeBoolean();
          byte[] bytes = data.consumeBytes(data.consumeInt(0, 600));
          try {
            if (delta) {
              DeltaDiscoveryRequest r = DeltaDiscoveryRequest.parseFrom(bytes);
              if (answerLast && call.lastNonce != null) {
                r = r.toBuilder().setResponseNonce(call.lastNonce).build();
              }
              incremental.onNext(r);
            } else {
              DiscoveryRequest r = DiscoveryRequest.parseFrom(bytes);
              if (answerLast && call.lastNonce != null) {
                r = r.toBuilder().setResponseNonce(call.lastNonce).build();
              }
              sotw.onNext(r);
            }
          } catch (InvalidProtocolBufferException notProtobuf) {
            // gRPC would have failed the call before the engine saw it
          }
        }
        default -> {
          // A request built from the protocol's own vocabulary, so the fuzzer reaches deep states.
          if (delta) {
            incremental.onNext(deltaRequest(data, call.lastNonce));
          } else {
            sotw.onNext(sotwRequest(data, call.lastNonce));
          }
        }
      }
    }
    call.setReady(true);
    if (call.open()) {
      call.cancel();
    }

    assertThat(call.failedWith).as("how the engine ended the stream").noneMatch(s -> s.getCode() == Status.Code.INTERNAL);
    assertThat(store.listenerCount()).as("streams still listening after the end").isZero();
  }

  private static final List<String> TYPES = List.of(TypeUrls.SECRET, TypeUrls.LISTENER, TypeUrls.CLUSTER,
      TypeUrls.ROUTE, TypeUrls.ENDPOINT, "");
  private static final List<String> NAMES = List.of("default", "ROOTCA", "ALL", "spiffe://example.org",
      "spiffe://example.org/ns/demo/sa/backend", "*", "", "inbound_8080", "outbound_backend", "unknown");
  private static final List<String> NODES = List.of("backend", "frontend", "", "nobody");

  private static DiscoveryRequest sotwRequest(FuzzedDataProvider data, String lastNonce) {
    DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setTypeUrl(pick(data, TYPES));
    if (data.consumeBoolean()) {
      b.setNode(io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId(pick(data, NODES)));
    }
    for (int n = data.consumeInt(0, 4); n > 0; n--) {
      b.addResourceNames(pick(data, NAMES));
    }
    b.setResponseNonce(nonce(data, lastNonce)).setVersionInfo(data.consumeAsciiString(8));
    if (data.consumeBoolean()) {
      b.setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage("fuzz"));
    }
    return b.build();
  }

  private static DeltaDiscoveryRequest deltaRequest(FuzzedDataProvider data, String lastNonce) {
    DeltaDiscoveryRequest.Builder b = DeltaDiscoveryRequest.newBuilder().setTypeUrl(pick(data, TYPES));
    if (data.consumeBoolean()) {
      b.setNode(io.envoyproxy.envoy.config.core.v3.Node.newBuilder().setId(pick(data, NODES)));
    }
    for (int n = data.consumeInt(0, 3); n > 0; n--) {
      b.addResourceNamesSubscribe(pick(data, NAMES));
    }
    for (int n = data.consumeInt(0, 2); n > 0; n--) {
      b.addResourceNamesUnsubscribe(pick(data, NAMES));
    }
    for (int n = data.consumeInt(0, 2); n > 0; n--) {
      b.putInitialResourceVersions(pick(data, NAMES), data.consumeAsciiString(8));
    }
    b.setResponseNonce(nonce(data, lastNonce));
    if (data.consumeBoolean()) {
      b.setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage("fuzz"));
    }
    return b.build();
  }

  private static String nonce(FuzzedDataProvider data, String lastNonce) {
    return switch (data.consumeInt(0, 2)) {
      case 0 -> lastNonce == null ? "" : lastNonce;
      case 1 -> "";
      default -> data.consumeAsciiString(12);
    };
  }

  private static String pick(FuzzedDataProvider data, List<String> choices) {
    return data.consumeBoolean() ? data.pickValue(choices) : data.consumeAsciiString(24);
  }

  private static XdsState state(int generation) {
    IdentitySnapshot identity = IdentitySnapshot.of(List.of(PKI.issue("/ns/demo/sa/backend")),
        Map.of(TrustDomain.parse("example.org"), PKI.bundle()));
    try {
      PolicyResources policy = PolicyResources.build(PolicyParser.parse("fuzz-policy.yaml", POLICY),
          new WorkloadResourcesBuilder.Options(SdsSecretConfigs.overAds(SecretNaming.SPIRE_DEFAULTS),
              WorkloadResourcesBuilder.Options.DEFAULT_CONNECT_TIMEOUT));
      return new ServingState(generation, System.nanoTime(),
          new SecretState(generation, System.nanoTime(), SecretCatalog.build(identity, SecretNaming.SPIRE_DEFAULTS),
              false),
          Optional.of(policy), Optional.of(SpiffeId.parse("spiffe://example.org/ns/demo/sa/backend")));
    } catch (PolicyException e) {
      throw new AssertionError("the fuzz target's policy does not parse: " + e.errors(), e);
    }
  }

  /**
   * The server side of one call, as the engine sees it: checks every response as it is sent,
   * records how the call ended, and lets the target stall and resume the transport.
   */
  private static final class FakeCall<T> extends ServerCallStreamObserver<T> {
    final List<Status> failedWith = new ArrayList<>();
    boolean ready = true;
    boolean completed;
    boolean cancelled;
    String lastNonce;
    private Runnable onReady = () -> {};
    private Runnable onCancel = () -> {};

    @SuppressWarnings("unchecked")
    <R> ServerCallStreamObserver<R> as() {
      return (ServerCallStreamObserver<R>) this;
    }

    boolean open() {
      return failedWith.isEmpty() && !completed && !cancelled;
    }

    void setReady(boolean nowReady) {
      ready = nowReady;
      if (nowReady) {
        onReady.run();
      }
    }

    void cancel() {
      cancelled = true;
      onCancel.run();
    }

    @Override
    public void onNext(T value) {
      assertThat(open()).as("a response after the call ended").isTrue();
      if (value instanceof DiscoveryResponse r) {
        check(r.getNonce(), r.getTypeUrl(), r.getResourcesList().stream().map(Any::getTypeUrl).toList(),
            r.getResourcesList().stream().map(XdsRequestFuzzTest::nameOf).toList());
      } else if (value instanceof DeltaDiscoveryResponse r) {
        check(r.getNonce(), r.getTypeUrl(),
            r.getResourcesList().stream().map(x -> x.getResource().getTypeUrl()).toList(),
            r.getResourcesList().stream().map(Resource::getName).toList());
      }
    }

    private void check(String nonce, String typeUrl, List<String> resourceTypes, List<String> names) {
      assertThat(nonce).as("nonce").isNotEmpty();
      assertThat(resourceTypes).as("resource types in a %s response", typeUrl).allMatch(typeUrl::equals);
      Set<String> unique = new HashSet<>(names);
      assertThat(unique).as("resource names in one response (rule 9)").hasSameSizeAs(names);
      lastNonce = nonce;
    }

    @Override
    public void onError(Throwable t) {
      failedWith.add(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      completed = true;
    }

    @Override
    public boolean isReady() {
      return ready;
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {
      onReady = handler;
    }

    @Override
    public void setOnCancelHandler(Runnable handler) {
      onCancel = handler;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public void setCompression(String compression) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}
  }

  private static String nameOf(Any any) {
    try {
      return switch (any.getTypeUrl()) {
        case TypeUrls.SECRET -> any.unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.class).getName();
        case TypeUrls.LISTENER -> any.unpack(io.envoyproxy.envoy.config.listener.v3.Listener.class).getName();
        case TypeUrls.CLUSTER -> any.unpack(io.envoyproxy.envoy.config.cluster.v3.Cluster.class).getName();
        default -> any.getTypeUrl();
      };
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("a resource that does not unpack as its type " + any.getTypeUrl(), e);
    }
  }
}
