package dev.rotor.transport;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A stand-in SDS service for transport tests: answers FetchSecrets with a marker secret (no key
 * material), counts how often it was reached and remembers who called last.
 */
final class FakeSecretService extends SecretDiscoveryServiceGrpc.SecretDiscoveryServiceImplBase {

  static final String MARKER = "transport-test-marker";

  final AtomicInteger fetches = new AtomicInteger();
  final AtomicReference<PeerIdentity> lastCaller = new AtomicReference<>();

  @Override
  public void fetchSecrets(DiscoveryRequest request, StreamObserver<DiscoveryResponse> responseObserver) {
    fetches.incrementAndGet();
    PeerIdentity.current().ifPresent(lastCaller::set);
    responseObserver.onNext(DiscoveryResponse.newBuilder()
        .setVersionInfo("v1")
        .addResources(Any.pack(Secret.newBuilder().setName(MARKER).build()))
        .build());
    responseObserver.onCompleted();
  }

  static String secretName(DiscoveryResponse response) throws Exception {
    return response.getResources(0).unpack(Secret.class).getName();
  }
}
