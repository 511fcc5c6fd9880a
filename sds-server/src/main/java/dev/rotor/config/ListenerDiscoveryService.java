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
import io.envoyproxy.envoy.service.listener.v3.ListenerDiscoveryServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;

/** LDS on its own stream, for Envoys configured without ADS. */
public final class ListenerDiscoveryService extends ListenerDiscoveryServiceGrpc.ListenerDiscoveryServiceImplBase {

  private static final StreamOptions OPTIONS = StreamOptions.singleType(TypeUrls.LISTENER);

  private final XdsStreamFactory streams;
  private final Supplier<Caller> caller;

  public ListenerDiscoveryService(XdsStreamFactory streams, Supplier<Caller> caller) {
    this.streams = requireNonNull(streams, "streams");
    this.caller = requireNonNull(caller, "caller");
  }

  @Override
  public StreamObserver<DiscoveryRequest> streamListeners(StreamObserver<DiscoveryResponse> responses) {
    return streams.openSotw(StreamInfo.Kind.LDS_SOTW, OPTIONS, responses, caller.get());
  }

  @Override
  public StreamObserver<DeltaDiscoveryRequest> deltaListeners(StreamObserver<DeltaDiscoveryResponse> responses) {
    return streams.openDelta(StreamInfo.Kind.LDS_DELTA, OPTIONS, responses, caller.get());
  }
}
