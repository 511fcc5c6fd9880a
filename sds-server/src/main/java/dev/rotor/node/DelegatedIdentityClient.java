package dev.rotor.node;

import static java.util.Objects.requireNonNull;

import dev.rotor.spire.api.agent.delegatedidentity.v1.DelegatedIdentityGrpc;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509BundlesRequest;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509BundlesResponse;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509SVIDsRequest;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509SVIDsResponse;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.function.Supplier;

/**
 * The SPIRE agent's Delegated Identity API on its admin socket, as Rotor uses it: server-streaming
 * subscriptions to one workload's X.509-SVIDs (by PID) and to the node's X.509 bundles. One gRPC
 * channel, made on first use; each subscription reads one message at a time (a slow consumer
 * holds the agent's stream back, it never queues in Rotor). Callbacks come on gRPC's threads:
 * their owners hand them to their own serialized state.
 */
final class DelegatedIdentityClient implements AutoCloseable {

  /** What a subscription reports. */
  interface Responses<T> {
    void onMessage(T message);

    /** The stream ended (OK when the agent ended it, CANCELLED when Rotor did). */
    void onClose(Status status);
  }

  /** An open subscription. */
  interface Subscription {
    /** Ends it; nothing more is reported after the close it causes. Idempotent. */
    void cancel();
  }

  private final String description;
  private final Supplier<ManagedChannel> channelFactory;
  private final Runnable releaseTransport;
  private ManagedChannel channel; // guarded by this

  /**
   * @param description for logs, e.g. {@code unix:///run/spire/admin/admin.sock}
   * @param channelFactory called once, on the first subscription
   * @param releaseTransport frees what the channel's transport holds, after {@link #close()}
   */
  DelegatedIdentityClient(String description, Supplier<ManagedChannel> channelFactory, Runnable releaseTransport) {
    this.description = requireNonNull(description, "description");
    this.channelFactory = requireNonNull(channelFactory, "channelFactory");
    this.releaseTransport = requireNonNull(releaseTransport, "releaseTransport");
  }

  String describe() {
    return description;
  }

  /** The SVIDs SPIRE issues to the process {@code pid}, now and at every change. */
  Subscription subscribeToSvids(int pid, Responses<SubscribeToX509SVIDsResponse> responses) {
    return open(DelegatedIdentityGrpc.getSubscribeToX509SVIDsMethod(),
        SubscribeToX509SVIDsRequest.newBuilder().setPid(pid).build(), responses);
  }

  /** The node's X.509 bundles (its own trust domain's and every federated one), now and at every change. */
  Subscription subscribeToBundles(Responses<SubscribeToX509BundlesResponse> responses) {
    return open(DelegatedIdentityGrpc.getSubscribeToX509BundlesMethod(),
        SubscribeToX509BundlesRequest.getDefaultInstance(), responses);
  }

  private <Q, R> Subscription open(MethodDescriptor<Q, R> method, Q request, Responses<R> responses) {
    ClientCall<Q, R> call = channel().newCall(method, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<R>() {
      @Override
      public void onMessage(R message) {
        try {
          responses.onMessage(message);
        } finally {
          call.request(1);
        }
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        responses.onClose(status);
      }
    }, new Metadata());
    call.sendMessage(request);
    call.halfClose();
    call.request(1);
    return () -> call.cancel("Rotor closed the subscription", null);
  }

  private synchronized ManagedChannel channel() {
    if (channel == null) {
      channel = channelFactory.get();
    } else {
      // The channel backs off reconnecting on its own, up to minutes; a restarted agent may be back now.
      channel.resetConnectBackoff();
    }
    return channel;
  }

  @Override
  public synchronized void close() {
    if (channel != null) {
      channel.shutdownNow();
      channel = null;
    }
    releaseTransport.run();
  }
}
