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
import io.grpc.Context;
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
 * <p>Node matchers: {@code node_id} with exact, prefix, suffix, contains or safe_regex (RE2 syntax,
 * full match, bounded: {@link NodeFilter}), optionally ignoring case; OR semantics as the API says.
 * Metadata matchers are refused with INVALID_ARGUMENT rather than ignored, so a filter never
 * silently widens. Answers are computed on a bounded pool, within a time budget, and stop when the
 * call is cancelled ({@link AnswerExecutor}).
 */
public final class ClientStatusService extends ClientStatusDiscoveryServiceGrpc.ClientStatusDiscoveryServiceImplBase {

  private final Supplier<List<StreamStatus>> streams;
  private final Supplier<Caller> caller;
  private final AnswerExecutor answers;
  /** Open StreamClientStatus calls, so shutdown can end them. */
  private final Set<StatusStream> open = ConcurrentHashMap.newKeySet();
  private volatile boolean shutDown;

  /**
   * @param caller the current call's caller (read from the gRPC context): a TCP caller sees only
   *     the streams it opened itself, a pod-local caller every stream
   */
  public ClientStatusService(Supplier<List<StreamStatus>> streams, Supplier<Caller> caller) {
    this(streams, caller, AnswerExecutor.bounded());
  }

  ClientStatusService(Supplier<List<StreamStatus>> streams, Supplier<Caller> caller, AnswerExecutor answers) {
    this.streams = requireNonNull(streams, "streams");
    this.caller = requireNonNull(caller, "caller");
    this.answers = requireNonNull(answers, "answers");
  }

  @Override
  public void fetchClientStatus(ClientStatusRequest request, StreamObserver<ClientStatusResponse> responses) {
    Caller who = caller.get();
    answers.submit(Context.current(), checkpoint -> {
      ClientStatusResponse answer = respond(request, who, checkpoint);
      responses.onNext(answer);
      responses.onCompleted();
    }, responses::onError);
  }

  /**
   * One request answered at a time per call: the next is read only when the last is answered
   * (gRPC flow control instead of a queue), so a client pipelining requests waits rather than
   * piling work up.
   */
  @Override
  public StreamObserver<ClientStatusRequest> streamClientStatus(StreamObserver<ClientStatusResponse> responses) {
    ServerCallStreamObserver<ClientStatusResponse> out = (ServerCallStreamObserver<ClientStatusResponse>) responses;
    if (shutDown) {
      out.onError(Status.UNAVAILABLE.withDescription("Rotor is shutting down").asRuntimeException());
      return new Ignore();
    }
    StatusStream stream = new StatusStream(out, caller.get(), Context.current());
    out.disableAutoRequest();
    open.add(stream);
    out.setOnCancelHandler(() -> open.remove(stream));
    out.request(1);
    return stream;
  }

  /** Ends open StreamClientStatus calls with UNAVAILABLE, refuses new ones and stops answering (shutdown). */
  public void shutdown() {
    shutDown = true;
    for (StatusStream s : List.copyOf(open)) {
      s.end(Status.UNAVAILABLE.withDescription("Rotor is shutting down").asRuntimeException());
    }
    answers.close();
  }

  /** One StreamClientStatus call. Its observer is used under the lock of this object. */
  private final class StatusStream implements StreamObserver<ClientStatusRequest> {
    private final ServerCallStreamObserver<ClientStatusResponse> out;
    private final Caller who;
    private final Context call;
    // Guarded by "this".
    private boolean answering;
    private boolean halfClosed;
    private boolean ended;

    StatusStream(ServerCallStreamObserver<ClientStatusResponse> out, Caller who, Context call) {
      this.out = out;
      this.who = who;
      this.call = call;
    }

    @Override
    public void onNext(ClientStatusRequest request) {
      synchronized (this) {
        if (ended) {
          return;
        }
        answering = true;
      }
      answers.submit(call, checkpoint -> {
        ClientStatusResponse answer = respond(request, who, checkpoint);
        synchronized (this) {
          answering = false;
          if (ended) {
            return;
          }
          out.onNext(answer);
          if (halfClosed) {
            finish();
          } else {
            out.request(1);
          }
        }
      }, this::end);
    }

    @Override
    public void onError(Throwable t) {
      synchronized (this) {
        ended = true;
      }
      open.remove(this);
    }

    /** The client is done asking; answer what it asked last, then end. */
    @Override
    public synchronized void onCompleted() {
      halfClosed = true;
      if (!answering) {
        finish();
      }
    }

    synchronized void end(StatusRuntimeException status) {
      if (!ended) {
        ended = true;
        open.remove(this);
        try {
          out.onError(status);
        } catch (RuntimeException alreadyGone) {
          // cancelled meanwhile
        }
      }
    }

    private void finish() {
      if (!ended) {
        ended = true;
        open.remove(this);
        out.onCompleted();
      }
    }
  }

  /** The answer to one request, checking {@code checkpoint} before each stream so a cancelled or late answer stops. */
  ClientStatusResponse respond(ClientStatusRequest request, Caller who, AnswerExecutor.Checkpoint checkpoint) {
    // A StreamClientStatus call lives as long as the client likes: ask again for every request
    // whether what admitted the caller still holds (a TCP peer's certificate; a UID always does).
    if (who.recheck().isPresent()) {
      throw Caller.LAPSED.asRuntimeException();
    }
    NodeFilter filter = NodeFilter.of(request.getNodeMatchersList());
    boolean withContents = !request.getExcludeResourceContents();
    Map<String, List<StreamStatus>> byNode = new TreeMap<>();
    for (StreamStatus s : streams.get()) {
      checkpoint.check();
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
    if (who instanceof Caller.PodLocal) {
      return true;
    }
    if (who instanceof Caller.Attested attested) {
      return attested.sameIdentity(s.caller()); // node mode: its own workload's streams
    }
    return ((Caller.Remote) who).sameIdentity(s.caller()); // fails closed should Caller gain a kind
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
