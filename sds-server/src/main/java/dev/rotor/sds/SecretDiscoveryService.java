package dev.rotor.sds;

import static java.util.Objects.requireNonNull;

import dev.rotor.protocol.Caller;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.StoreProvider;
import dev.rotor.protocol.StreamOptions;
import dev.rotor.protocol.TypeView;
import dev.rotor.protocol.XdsState;
import dev.rotor.protocol.XdsStreamFactory;
import dev.rotor.xds.Resource;
import dev.rotor.xds.ResourceVersions;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * SDS v3: {@code StreamSecrets} (state of the world), {@code DeltaSecrets} and {@code
 * FetchSecrets}. Callers reach it only after the transport authorized them; what each may see
 * is cut to its {@link Caller}: a pod-local caller everything this Rotor holds for its workload, a
 * TCP caller the bundles and its own SVID only.
 */
public final class SecretDiscoveryService extends SecretDiscoveryServiceGrpc.SecretDiscoveryServiceImplBase {

  private static final StreamOptions OPTIONS = StreamOptions.singleType(TypeUrls.SECRET);
  /** How long a fetch waits for a node-mode caller's identity to arrive from SPIRE. */
  private static final Duration FETCH_READY_WAIT = Duration.ofSeconds(5);

  private final XdsStreamFactory streams;
  private final Supplier<Caller> caller;

  /**
   * @param caller the current call's caller, as the transport authenticated it (read from the gRPC
   *     context); it decides what the call may receive
   */
  public SecretDiscoveryService(XdsStreamFactory streams, Supplier<Caller> caller) {
    this.streams = requireNonNull(streams, "streams");
    this.caller = requireNonNull(caller, "caller");
  }

  @Override
  public StreamObserver<DiscoveryRequest> streamSecrets(StreamObserver<DiscoveryResponse> responses) {
    return streams.openSotw(StreamInfo.Kind.SDS_SOTW, OPTIONS, responses, caller.get());
  }

  @Override
  public StreamObserver<DeltaDiscoveryRequest> deltaSecrets(StreamObserver<DeltaDiscoveryResponse> responses) {
    return streams.openDelta(StreamInfo.Kind.SDS_DELTA, OPTIONS, responses, caller.get());
  }

  @Override
  public void fetchSecrets(DiscoveryRequest request, StreamObserver<DiscoveryResponse> responses) {
    if (!request.getTypeUrl().isEmpty() && !request.getTypeUrl().equals(TypeUrls.SECRET)) {
      responses.onError(Status.INVALID_ARGUMENT
          .withDescription("type_url: not a secret type (expected: " + TypeUrls.SECRET + " or empty)")
          .asRuntimeException());
      return;
    }
    if (request.getResourceNamesCount() > OPTIONS.maxResourceNames()) {
      responses.onError(Status.INVALID_ARGUMENT
          .withDescription("resource_names: too many (expected: at most " + OPTIONS.maxResourceNames() + ")")
          .asRuntimeException());
      return;
    }
    for (String name : request.getResourceNamesList()) {
      // The same limit the streams apply: a huge name is hostile input, not a secret to look up.
      if (name.length() > OPTIONS.maxNameLength()) {
        responses.onError(Status.INVALID_ARGUMENT
            .withDescription("resource name of " + name.length() + " characters (expected: at most "
                + OPTIONS.maxNameLength() + ")")
            .asRuntimeException());
        return;
      }
    }
    Caller who = caller.get();
    StoreProvider.Lease lease;
    try {
      lease = streams.lease(who);
    } catch (StatusRuntimeException refused) {
      responses.onError(refused);
      return;
    }
    // A node-mode caller's workload may have had no stream, so no identity yet: wait for it, a
    // little (a copy: the timeout must not complete the workload's own future).
    lease.ready().copy().orTimeout(FETCH_READY_WAIT.toMillis(), TimeUnit.MILLISECONDS).whenComplete((ok, late) -> {
      try {
        answer(request, who, lease.store().current(), responses);
      } catch (RuntimeException e) {
        responses.onError(Status.INTERNAL.withDescription("internal error").asRuntimeException());
      } finally {
        lease.release();
      }
    });
  }

  private void answer(DiscoveryRequest request, Caller who, XdsState state, StreamObserver<DiscoveryResponse> responses) {
    try {
      streams.checkNode(who, request.getNode(), state);
    } catch (StatusRuntimeException refused) {
      responses.onError(refused);
      return;
    }
    TypeView view = state.view(TypeUrls.SECRET, request.getNode(), who);
    List<Resource> found = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    Set<String> names = new LinkedHashSet<>(request.getResourceNamesList());
    names.remove("*");
    if (names.isEmpty()) {
      found.addAll(view.wildcard());
    } else {
      for (String name : names) {
        Optional<Resource> r = view.get(name);
        if (r.isPresent()) {
          found.add(r.get());
        } else {
          missing.add(name);
        }
      }
    }
    if (!missing.isEmpty()) {
      responses.onError(Status.NOT_FOUND
          .withDescription("no secret available now for " + describe(missing) + " (a stream would wait for it; Fetch does not)")
          .asRuntimeException());
      return;
    }
    DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder()
        .setTypeUrl(TypeUrls.SECRET)
        .setVersionInfo(found.isEmpty() ? "" : ResourceVersions.ofSet(found));
    found.forEach(r -> b.addResources(r.body()));
    responses.onNext(b.build());
    responses.onCompleted();
  }

  /**
   * The first few missing names, each abbreviated: the description travels in a trailer, and gRPC
   * clients refuse trailers over 8 KiB by default (the caller would see INTERNAL, not NOT_FOUND).
   */
  private static String describe(List<String> missing) {
    List<String> shown = missing.stream().limit(5)
        .map(n -> n.length() > 200 ? n.substring(0, 200) + "..." : n)
        .toList();
    return missing.size() <= shown.size() ? shown.toString() : shown + " and " + (missing.size() - shown.size()) + " more";
  }
}
