package dev.rotor.config;

import static java.util.Objects.requireNonNull;

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
  private final Supplier<String> peer;

  public ListenerDiscoveryService(XdsStreamFactory streams, Supplier<String> peer) {
    this.streams = requireNonNull(streams, "streams");
    this.peer = requireNonNull(peer, "peer");
  }

  @Override
  public StreamObserver<DiscoveryRequest> streamListeners(StreamObserver<DiscoveryResponse> responses) {
    return streams.openSotw(StreamInfo.Kind.LDS_SOTW, OPTIONS, responses, peer.get());
  }

  @Override
  public StreamObserver<DeltaDiscoveryRequest> deltaListeners(StreamObserver<DeltaDiscoveryResponse> responses) {
    return streams.openDelta(StreamInfo.Kind.LDS_DELTA, OPTIONS, responses, peer.get());
  }
}
