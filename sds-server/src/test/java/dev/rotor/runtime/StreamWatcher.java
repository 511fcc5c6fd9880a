package dev.rotor.runtime;

import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;

/** One SotW stream of a load test: counts responses, keeps the last nonce, records how it ended. */
final class StreamWatcher implements ClientResponseObserver<DiscoveryRequest, DiscoveryResponse> {
  final CompletableFuture<Status> ended = new CompletableFuture<>();
  volatile ClientCallStreamObserver<DiscoveryRequest> call;
  volatile int responses;
  volatile String lastNonce = "";

  @Override
  public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
    call = requestStream;
  }

  @Override
  public void onNext(DiscoveryResponse value) {
    lastNonce = value.getNonce();
    responses++;
  }

  @Override
  public void onError(Throwable t) {
    ended.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    ended.complete(Status.OK);
  }
}
