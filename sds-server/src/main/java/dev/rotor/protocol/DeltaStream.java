package dev.rotor.protocol;

import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executor;

/**
 * An incremental (delta) xDS stream: responses carry only what changed, each resource with its own
 * version, and deletions in {@code removed_resources}. Rule numbers refer to
 * {@code shared/reference/xds-protocol.md}.
 */
final class DeltaStream extends AbstractXdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {

  /** One type's sub-stream. Touched only on the stream's executor. */
  private static final class TypeState {
    final String typeUrl;
    boolean wildcard;
    boolean explicitSeen;
    boolean firstRequest = true;
    final Set<String> names = new TreeSet<>();
    /** name → the version the client has, as far as we know (initial_resource_versions, then what we sent). */
    final Map<String, String> clientHas = new HashMap<>();
    /** names to send (or report missing) at the next flush whatever the client has (rule 17). */
    final Set<String> forced = new TreeSet<>();
    final Set<String> reportedUnknown = new HashSet<>();
    boolean owesInitialResponse;
    String lastNonce;

    TypeState(String typeUrl) {
      this.typeUrl = typeUrl;
    }
  }

  // Sorted by push order, so one flush sends secrets, then clusters, then listeners (rules 22-23);
  // deletions of a type wait until the types after it are sent (computeResponses).
  private final Map<String, TypeState> types = new TreeMap<>(TypeUrls.BY_PUSH_ORDER);
  private final Nonces nonces;

  DeltaStream(StreamInfo info, StreamOptions options, ServerCallStreamObserver<DeltaDiscoveryResponse> out,
      ResourceStore store, Executor serial, XdsEventListener events, StreamGuard guard) {
    super(info, options, out, store, serial, events, guard);
    this.nonces = new Nonces(info.id());
  }

  @Override
  void handleRequest(DeltaDiscoveryRequest req) {
    rememberNode(req.hasNode(), req.getNode());
    String typeUrl = checkRequest(req.getTypeUrl(), req.getResourceNamesSubscribeList(),
        req.getResourceNamesUnsubscribeList());
    TypeState st = types.computeIfAbsent(typeUrl, TypeState::new);
    String nonce = req.getResponseNonce();
    if (!nonce.isEmpty()) {
      if (nonce.equals(st.lastNonce)) {
        if (req.hasErrorDetail()) {
          // Rule 21/7: NACK. What we sent stays recorded as the client's, so the rejected version is
          // not pushed again until the next real change.
          events.nackReceived(info, typeUrl, "", nonce, req.getErrorDetail().getMessage());
        } else {
          events.ackReceived(info, typeUrl, "", nonce);
        }
      } else {
        // Rule 4: the subscription changes of a request with a stale nonce still apply.
        events.staleRequest(info, typeUrl, nonce);
        if (req.hasErrorDetail()) {
          events.nackReceived(info, typeUrl, "", nonce, req.getErrorDetail().getMessage());
        }
      }
    }

    boolean first = st.firstRequest;
    Set<String> namesBefore = Set.copyOf(st.names);
    boolean wildcardBefore = st.wildcard;
    if (st.firstRequest) {
      st.firstRequest = false;
      // Rule 20: on reconnect, do not resend what the client already has at the same version.
      st.clientHas.putAll(req.getInitialResourceVersionsMap());
      if (req.getResourceNamesSubscribeList().isEmpty()) {
        st.wildcard = true; // legacy wildcard: an empty first subscription (rule 12)
      }
      st.owesInitialResponse = true;
    }
    for (String name : req.getResourceNamesSubscribeList()) {
      if (name.equals("*")) {
        st.wildcard = true;
        continue;
      }
      st.explicitSeen = true;
      st.names.add(name);
      if (!req.getInitialResourceVersionsMap().containsKey(name)) {
        st.forced.add(name); // Rule 17: send even if the client should already have it.
      }
    }
    for (String name : req.getResourceNamesUnsubscribeList()) {
      if (name.equals("*")) {
        st.wildcard = false;
        continue;
      }
      // Rule 18: unsubscribing a name never subscribed is ignored.
      if (st.names.remove(name)) {
        st.clientHas.remove(name);
        st.forced.remove(name);
        st.reportedUnknown.remove(name);
      }
    }
    // Each request is capped at maxResourceNames; a delta subscription adds up over requests, so its
    // total is capped too, or many small requests would grow it without end.
    guard.checkSubscribed(st.names.size(), options.maxResourceNames());
    if (first || st.wildcard != wildcardBefore || !st.names.equals(namesBefore)) {
      events.subscriptionChanged(info, typeUrl, Set.copyOf(st.names), st.wildcard);
    }
  }

  @Override
  List<DeltaDiscoveryResponse> computeResponses(XdsState state, boolean byUpdate) {
    return inPushOrder(types.values(), (st, keepStale) -> compute(st, state, byUpdate, keepStale));
  }

  /**
   * @param keepStale rule 22, make before break: a full-state type followed by another type on
   *     this stream (clusters, before listeners) defers deleting what the client has until the
   *     later types are sent, so a listener never points at a cluster that is already gone
   */
  private DeltaDiscoveryResponse compute(TypeState st, XdsState state, boolean byUpdate, boolean keepStale) {
    TypeView view = state.view(st.typeUrl, info.node(), info.caller());
    Map<String, Resource> current = new TreeMap<>();
    if (st.wildcard) {
      for (Resource r : view.wildcard()) {
        current.put(r.name(), r);
      }
    }
    List<String> removed = new ArrayList<>();
    boolean deferDeletes = keepStale && view.fullState();
    for (String name : st.names) {
      var r = view.get(name);
      if (r.isPresent()) {
        current.put(name, r.get());
        st.reportedUnknown.remove(name);
      } else if (!current.containsKey(name)) {
        // Rule 19: a subscribed name that does not exist is reported in removed_resources, once.
        boolean deferred = deferDeletes && st.clientHas.containsKey(name); // deleted in the second pass
        if (!deferred && (st.clientHas.remove(name) != null || st.forced.contains(name))) {
          removed.add(name);
        }
        if (st.reportedUnknown.add(name)) {
          events.unknownResource(info, st.typeUrl, name, view.whyAbsent(name));
        }
      }
    }
    // Resources the client has from the wildcard that no longer exist are deleted (rule 16).
    for (String had : List.copyOf(st.clientHas.keySet())) {
      if (!current.containsKey(had) && !st.names.contains(had) && !deferDeletes) {
        st.clientHas.remove(had);
        removed.add(had);
      }
    }

    List<Resource> changed = new ArrayList<>();
    for (Resource r : current.values()) {
      if (st.forced.contains(r.name()) || !r.version().equals(st.clientHas.get(r.name()))) {
        changed.add(r);
      }
    }
    boolean owesInitial = st.owesInitialResponse && view.fullState();
    st.owesInitialResponse = false;
    st.forced.clear();
    if (changed.isEmpty() && removed.isEmpty() && !owesInitial) {
      return null;
    }
    for (Resource r : changed) {
      st.clientHas.put(r.name(), r.version());
    }
    String nonce = nonces.next();
    DeltaDiscoveryResponse.Builder b = DeltaDiscoveryResponse.newBuilder()
        .setTypeUrl(st.typeUrl)
        .setNonce(nonce)
        .setSystemVersionInfo(Long.toString(state.generation()));
    for (Resource r : changed) {
      b.addResources(io.envoyproxy.envoy.service.discovery.v3.Resource.newBuilder()
          .setName(r.name())
          .setVersion(r.version())
          .setResource(r.body()));
    }
    removed.sort(null);
    b.addAllRemovedResources(removed);
    st.lastNonce = nonce;
    OptionalLong latency = byUpdate ? OptionalLong.of(System.nanoTime() - state.changedAtNanos()) : OptionalLong.empty();
    events.responseSent(info, st.typeUrl, "", nonce, List.copyOf(changed), List.copyOf(removed), latency);
    return b.build();
  }
}
