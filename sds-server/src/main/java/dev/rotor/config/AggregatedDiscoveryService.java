package dev.rotor.config;

import static java.util.Objects.requireNonNull;

import dev.rotor.protocol.Caller;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.StreamOptions;
import dev.rotor.protocol.XdsStreamFactory;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;

/**
 * ADS: listeners, clusters and secrets on one stream (state of the world and delta). Each type is
 * its own sub-stream; within one push, secrets go first, then clusters, then listeners
 * (make-before-break, xds-protocol rules 22-23).
 */
public final class AggregatedDiscoveryService extends AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase {

  private static final StreamOptions OPTIONS = StreamOptions.aggregated(ServingState.ADS_TYPES);

  private final XdsStreamFactory streams;
  private final Supplier<Caller> caller;

  public AggregatedDiscoveryService(XdsStreamFactory streams, Supplier<Caller> caller) {
    this.streams = requireNonNull(streams, "streams");
    this.caller = requireNonNull(caller, "caller");
  }

  @Override
  public StreamObserver<DiscoveryRequest> streamAggregatedResources(StreamObserver<DiscoveryResponse> responses) {
    return streams.openSotw(StreamInfo.Kind.ADS_SOTW, OPTIONS, responses, caller.get());
  }

  @Override
  public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(
      StreamObserver<DeltaDiscoveryResponse> responses) {
    return streams.openDelta(StreamInfo.Kind.ADS_DELTA, OPTIONS, responses, caller.get());
  }
}
