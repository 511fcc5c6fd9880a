package dev.rotor.csds;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Timestamp;
import dev.rotor.protocol.Caller;
import dev.rotor.status.ResourceStatus;
import dev.rotor.status.StreamStatus;
import dev.rotor.status.TypeStatus;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.admin.v3.ClientResourceStatus;
import io.envoyproxy.envoy.admin.v3.UpdateFailureState;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.status.v3.ClientConfig;
import io.envoyproxy.envoy.service.status.v3.ClientConfig.GenericXdsConfig;
import io.envoyproxy.envoy.service.status.v3.ClientStatusDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.status.v3.ClientStatusRequest;
import io.envoyproxy.envoy.service.status.v3.ClientStatusResponse;
import io.envoyproxy.envoy.service.status.v3.ConfigStatus;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The standard Client Status Discovery Service ({@code envoy.service.status.v3}): what every
 * connected Envoy was sent and how it answered, per resource, for tools such as {@code istioctl
 * proxy-status}-style dashboards and {@code grpcurl}.
 *
 * <p>Mapping, per resource of each open stream (one {@link ClientConfig} per node id; the streams
 * of one Envoy are merged):
 *
 * <ul>
 *   <li>ACKed at the version sent last: {@code config_status SYNCED}, {@code client_status ACKED}.
 *   <li>Sent, no answer yet: {@code STALE}, {@code REQUESTED}.
 *   <li>NACKed: {@code ERROR}, {@code NACKED}, with {@code error_state} (details, time, the rejected
 *       version); {@code version_info} stays the version the client last ACKed, which it still runs.
 *   <li>Subscribed but nothing sent (the resource does not exist yet): {@code NOT_SENT}, {@code
 *       REQUESTED}.
 * </ul>
 *
 * <p>{@code version_info} is the resource's own version as Rotor sent it. Listeners and clusters
 * carry their ACKed (else sent) body in {@code xds_config} unless {@code exclude_resource_contents};
 * <b>secrets never carry a body</b>: name, versions and status only.
 *
 * <p>Node matchers: {@code node_id} with exact, prefix, suffix, contains or safe_regex (Java regex
 * syntax, full match), optionally ignoring case; OR semantics as the API says. Metadata matchers are
 * refused with INVALID_ARGUMENT rather than ignored, so a filter never silently widens.
 */
public final class ClientStatusService extends ClientStatusDiscoveryServiceGrpc.ClientStatusDiscoveryServiceImplBase {

  private final Supplier<List<StreamStatus>> streams;
  private final Supplier<Caller> caller;
  /** Open StreamClientStatus calls, so shutdown can end them; each observer is used under its own lock. */
  private final Set<ServerCallStreamObserver<ClientStatusResponse>> open = ConcurrentHashMap.newKeySet();
  private volatile boolean shutDown;

  /**
   * @param caller the current call's caller (read from the gRPC context): a TCP caller sees only
   *     the streams it opened itself, a pod-local caller every stream
   */
  public ClientStatusService(Supplier<List<StreamStatus>> streams, Supplier<Caller> caller) {
    this.streams = requireNonNull(streams, "streams");
    this.caller = requireNonNull(caller, "caller");
  }

  @Override
  public void fetchClientStatus(ClientStatusRequest request, StreamObserver<ClientStatusResponse> responses) {
    try {
      responses.onNext(respond(request, caller.get()));
      responses.onCompleted();
    } catch (StatusRuntimeException e) {
      responses.onError(e);
    }
  }

  @Override
  public StreamObserver<ClientStatusRequest> streamClientStatus(StreamObserver<ClientStatusResponse> responses) {
    ServerCallStreamObserver<ClientStatusResponse> out = (ServerCallStreamObserver<ClientStatusResponse>) responses;
    if (shutDown) {
      out.onError(Status.UNAVAILABLE.withDescription("Rotor is shutting down").asRuntimeException());
      return new Ignore();
    }
    Caller who = caller.get();
    open.add(out);
    out.setOnCancelHandler(() -> open.remove(out));
    return new StreamObserver<>() {
      @Override
      public void onNext(ClientStatusRequest request) {
        synchronized (out) {
          if (!open.contains(out)) {
            return;
          }
          try {
            out.onNext(respond(request, who));
          } catch (StatusRuntimeException e) {
            open.remove(out);
            out.onError(e);
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        open.remove(out);
      }

      @Override
      public void onCompleted() {
        synchronized (out) {
          if (open.remove(out)) {
            out.onCompleted();
          }
        }
      }
    };
  }

  /** Ends open StreamClientStatus calls with UNAVAILABLE and refuses new ones (shutdown). */
  public void shutdown() {
    shutDown = true;
    for (ServerCallStreamObserver<ClientStatusResponse> out : List.copyOf(open)) {
      synchronized (out) {
        if (open.remove(out)) {
          try {
            out.onError(Status.UNAVAILABLE.withDescription("Rotor is shutting down").asRuntimeException());
          } catch (RuntimeException alreadyGone) {
            // cancelled meanwhile
          }
        }
      }
    }
  }

  ClientStatusResponse respond(ClientStatusRequest request, Caller who) {
    // A StreamClientStatus call lives as long as the client likes: ask again for every request
    // whether what admitted the caller still holds (a TCP peer's certificate; a UID always does).
    if (who.recheck().isPresent()) {
      throw Caller.LAPSED.asRuntimeException();
    }
    NodeFilter filter = NodeFilter.of(request.getNodeMatchersList());
    boolean withContents = !request.getExcludeResourceContents();
    Map<String, List<StreamStatus>> byNode = new TreeMap<>();
    for (StreamStatus s : streams.get()) {
      if (maySee(who, s) && filter.matches(s.nodeId())) {
        byNode.computeIfAbsent(s.nodeId(), k -> new ArrayList<>()).add(s);
      }
    }
    ClientStatusResponse.Builder response = ClientStatusResponse.newBuilder();
    byNode.forEach((nodeId, group) -> response.addConfig(clientConfig(group, withContents)));
    return response.build();
  }

  /**
   * A pod-local caller sees every stream (the pod's Envoys); a TCP caller only streams opened with
   * its own SPIFFE ID, never the pod's Envoys on the Unix socket or other TCP clients.
   */
  private static boolean maySee(Caller who, StreamStatus s) {
    return who instanceof Caller.PodLocal || ((Caller.Remote) who).sameIdentity(s.caller());
  }

  private static ClientConfig clientConfig(List<StreamStatus> group, boolean withContents) {
    Node node = group.get(0).node();
    // type URL + name → the newest entry over this node's streams
    Map<String, GenericXdsConfig> configs = new TreeMap<>();
    Map<String, Instant> updated = new LinkedHashMap<>();
    for (StreamStatus s : group) {
      for (TypeStatus t : s.types().values()) {
        for (ResourceStatus r : t.resources().values()) {
          String key = TypeUrls.PUSH_ORDER.indexOf(t.typeUrl()) + " " + t.typeUrl() + " " + r.name();
          Instant prev = updated.get(key);
          if (prev == null || r.updatedAt().isAfter(prev)) {
            updated.put(key, r.updatedAt());
            configs.put(key, generic(t.typeUrl(), r, withContents));
          }
        }
      }
    }
    return ClientConfig.newBuilder()
        .setNode(node)
        .addAllGenericXdsConfigs(configs.values())
        .build();
  }

  static GenericXdsConfig generic(String typeUrl, ResourceStatus r, boolean withContents) {
    GenericXdsConfig.Builder b = GenericXdsConfig.newBuilder()
        .setTypeUrl(typeUrl)
        .setName(r.name())
        .setLastUpdated(timestamp(r.updatedAt()));
    switch (r.state()) {
      case ACKED:
        b.setVersionInfo(r.ackedVersion()).setConfigStatus(ConfigStatus.SYNCED).setClientStatus(ClientResourceStatus.ACKED);
        break;
      case SENT:
        b.setVersionInfo(r.sentVersion()).setConfigStatus(ConfigStatus.STALE)
            .setClientStatus(ClientResourceStatus.REQUESTED);
        break;
      case NACKED:
        b.setVersionInfo(r.ackedVersion()).setConfigStatus(ConfigStatus.ERROR).setClientStatus(ClientResourceStatus.NACKED);
        r.nack().ifPresent(n -> b.setErrorState(UpdateFailureState.newBuilder()
            .setDetails(n.error())
            .setLastUpdateAttempt(timestamp(n.at()))
            .setVersionInfo(n.rejectedVersion())));
        break;
      case REQUESTED:
      default:
        b.setConfigStatus(ConfigStatus.NOT_SENT).setClientStatus(ClientResourceStatus.REQUESTED);
        break;
    }
    // ResourceStatus never holds a secret's body; the type check says so twice.
    if (withContents && !TypeUrls.SECRET.equals(typeUrl)) {
      r.config().ifPresent(b::setXdsConfig);
    }
    return b.build();
  }

  private static Timestamp timestamp(Instant t) {
    return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
  }

  private static final class Ignore implements StreamObserver<ClientStatusRequest> {
    @Override
    public void onNext(ClientStatusRequest value) {}

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }
}
