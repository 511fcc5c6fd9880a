package dev.rotor.config;

import static java.util.Objects.requireNonNull;

import dev.rotor.protocol.Caller;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.StreamOptions;
import dev.rotor.protocol.XdsStreamFactory;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.cluster.v3.ClusterDiscoveryServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;

/** CDS on its own stream, for Envoys configured without ADS. */
public final class ClusterDiscoveryService extends ClusterDiscoveryServiceGrpc.ClusterDiscoveryServiceImplBase {

  private static final StreamOptions OPTIONS = StreamOptions.singleType(TypeUrls.CLUSTER);

  private final XdsStreamFactory streams;
  private final Supplier<Caller> caller;

  public ClusterDiscoveryService(XdsStreamFactory streams, Supplier<Caller> caller) {
    this.streams = requireNonNull(streams, "streams");
    this.caller = requireNonNull(caller, "caller");
  }

  @Override
  public StreamObserver<DiscoveryRequest> streamClusters(StreamObserver<DiscoveryResponse> responses) {
    return streams.openSotw(StreamInfo.Kind.CDS_SOTW, OPTIONS, responses, caller.get());
  }

  @Override
  public StreamObserver<DeltaDiscoveryRequest> deltaClusters(StreamObserver<DeltaDiscoveryResponse> responses) {
    return streams.openDelta(StreamInfo.Kind.CDS_DELTA, OPTIONS, responses, caller.get());
  }
}
