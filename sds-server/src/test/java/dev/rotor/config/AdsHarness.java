package dev.rotor.config;

import dev.rotor.protocol.Caller;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.protocol.ResourceStore;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.protocol.XdsStreamFactory;
import dev.rotor.pushlog.PushLog;
import dev.rotor.sds.SecretState;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.SecretNaming;
import io.envoyproxy.envoy.service.cluster.v3.ClusterDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.listener.v3.ListenerDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.spiffe.spiffeid.SpiffeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The real ADS, LDS and CDS services on an in-process gRPC server, over a real {@link
 * ResourceStore} and {@link XdsStreamFactory} on a real thread pool. Tests set the inputs Rotor
 * combines into a {@link ServingState} (identity, policy, Rotor's own SPIFFE ID) and each change
 * is published as {@code rotor serve} publishes it: one new state, swapped in whole.
 */
final class AdsHarness implements AutoCloseable {

  final RecordingXdsEvents events = new RecordingXdsEvents();
  final ResourceStore store = new ResourceStore(
      new ServingState(0, System.nanoTime(), SecretState.initial(false), Optional.empty(), Optional.empty()));

  private final ExecutorService pool = Executors.newFixedThreadPool(4);
  private final List<XdsTestPeer<?, ?>> peers = new ArrayList<>();
  private final Server server;
  private final ManagedChannel channel;

  // Guarded by "this": the inputs of the next published state.
  private long generation;
  private SecretCatalog catalog = SecretCatalog.EMPTY;
  private Optional<PolicyResources> policy = Optional.empty();
  private Optional<SpiffeId> ownId = Optional.empty();

  AdsHarness() {
    XdsStreamFactory streams = new XdsStreamFactory(store, pool, XdsEventListener.all(List.of(new PushLog(), events)));
    String name = InProcessServerBuilder.generateName();
    try {
      server = InProcessServerBuilder.forName(name).directExecutor()
          .addService(new AggregatedDiscoveryService(streams, () -> new Caller.PodLocal("in-process ADS test peer")))
          .addService(new ListenerDiscoveryService(streams, () -> new Caller.PodLocal("in-process LDS test peer")))
          .addService(new ClusterDiscoveryService(streams, () -> new Caller.PodLocal("in-process CDS test peer")))
          .build()
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  /** Serves this policy (and whatever identity is served already). */
  synchronized AdsHarness publish(TestPolicy p) {
    policy = Optional.of(p.resources());
    return republish();
  }

  /** Serves this identity, with Rotor's own SPIFFE ID left as it is. */
  synchronized AdsHarness publish(IdentitySnapshot identity) {
    catalog = SecretCatalog.build(identity, SecretNaming.SPIRE_DEFAULTS);
    return republish();
  }

  /** A new identity and a new policy in one state, as one push. */
  synchronized AdsHarness publish(IdentitySnapshot identity, TestPolicy p) {
    catalog = SecretCatalog.build(identity, SecretNaming.SPIRE_DEFAULTS);
    policy = Optional.of(p.resources());
    return republish();
  }

  /** Rotor's own SPIFFE ID, as a pod-local Rotor knows it from its default SVID. */
  synchronized AdsHarness ownId(String spiffeId) {
    ownId = Optional.of(SpiffeId.parse(spiffeId));
    return republish();
  }

  private AdsHarness republish() {
    generation++;
    long now = System.nanoTime();
    store.publish(new ServingState(generation, now, new SecretState(generation, now, catalog, false), policy, ownId));
    return this;
  }

  XdsTestPeer<DiscoveryRequest, DiscoveryResponse> ads(String name) {
    return track(new XdsTestPeer<>(name + " ADS", AggregatedDiscoveryServiceGrpc.newStub(channel)::streamAggregatedResources));
  }

  XdsTestPeer<DeltaDiscoveryRequest, DeltaDiscoveryResponse> deltaAds(String name) {
    return track(new XdsTestPeer<>(name + " delta ADS",
        AggregatedDiscoveryServiceGrpc.newStub(channel)::deltaAggregatedResources));
  }

  XdsTestPeer<DiscoveryRequest, DiscoveryResponse> lds(String name) {
    return track(new XdsTestPeer<>(name + " LDS", ListenerDiscoveryServiceGrpc.newStub(channel)::streamListeners));
  }

  XdsTestPeer<DeltaDiscoveryRequest, DeltaDiscoveryResponse> deltaLds(String name) {
    return track(new XdsTestPeer<>(name + " delta LDS", ListenerDiscoveryServiceGrpc.newStub(channel)::deltaListeners));
  }

  XdsTestPeer<DiscoveryRequest, DiscoveryResponse> cds(String name) {
    return track(new XdsTestPeer<>(name + " CDS", ClusterDiscoveryServiceGrpc.newStub(channel)::streamClusters));
  }

  XdsTestPeer<DeltaDiscoveryRequest, DeltaDiscoveryResponse> deltaCds(String name) {
    return track(new XdsTestPeer<>(name + " delta CDS", ClusterDiscoveryServiceGrpc.newStub(channel)::deltaClusters));
  }

  private <P extends XdsTestPeer<?, ?>> P track(P peer) {
    synchronized (peers) {
      peers.add(peer);
    }
    return peer;
  }

  @Override
  public void close() {
    synchronized (peers) {
      peers.forEach(XdsTestPeer::close);
    }
    channel.shutdownNow();
    server.shutdownNow();
    pool.shutdown();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
      server.awaitTermination(5, TimeUnit.SECONDS);
      if (!pool.awaitTermination(5, TimeUnit.SECONDS)) {
        throw new AssertionError("stream executors did not finish within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while stopping the harness", e);
    }
  }
}
