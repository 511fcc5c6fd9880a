package dev.rotor.protocol;

import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.ResourceVersions;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
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
 * A state-of-the-world xDS stream (SDS's StreamSecrets, or ADS's StreamAggregatedResources). Each
 * type URL is an independent sub-stream with its own subscription, versions and nonce (rule 5).
 * Rule numbers refer to {@code shared/reference/xds-protocol.md}.
 */
final class SotwStream extends AbstractXdsStream<DiscoveryRequest, DiscoveryResponse> {

  /** One type's sub-stream. Touched only on the stream's executor. */
  private static final class TypeState {
    final String typeUrl;
    boolean wildcard;
    boolean explicitSeen;
    Set<String> names = new TreeSet<>();
    /**
     * name → what was last sent on this stream; whole resources, so a full-state type can repeat
     * one that is going away until the types after it no longer need it (rule 22).
     */
    final Map<String, Resource> sent = new HashMap<>();
    /** names to send at the next flush whatever their version (newly subscribed, rule 11). */
    final Set<String> forced = new TreeSet<>();
    /** full-state types and wildcard subscriptions owe one response after a subscription change. */
    boolean owesFullResponse;
    final Set<String> reportedUnknown = new HashSet<>();
    String lastNonce;
    String lastVersion;
    boolean subscriptionReported;

    TypeState(String typeUrl) {
      this.typeUrl = typeUrl;
    }
  }

  // Sorted by push order, so one flush sends secrets, then clusters, then listeners (rules 22-23);
  // deletions of a full-state type wait until the types after it are sent (computeResponses).
  private final Map<String, TypeState> types = new TreeMap<>(TypeUrls.BY_PUSH_ORDER);
  private final Nonces nonces;

  SotwStream(StreamInfo info, StreamOptions options, ServerCallStreamObserver<DiscoveryResponse> out,
      ResourceStore store, Executor serial, XdsEventListener events, StreamGuard guard) {
    super(info, options, out, store, serial, events, guard);
    this.nonces = new Nonces(info.id());
  }

  @Override
  void handleRequest(DiscoveryRequest req) {
    rememberNode(req.hasNode(), req.getNode());
    String typeUrl = checkRequest(req.getTypeUrl(), req.getResourceNamesList(), List.of());
    TypeState st = types.computeIfAbsent(typeUrl, TypeState::new);
    String nonce = req.getResponseNonce();

    if (st.lastNonce != null && !nonce.isEmpty() && !nonce.equals(st.lastNonce)) {
      // Rule 3: a stale nonce answers an older response; its content is superseded. Before our
      // first response any nonce is accepted (Envoy reconnecting after a restart sends its old one).
      events.staleRequest(info, typeUrl, nonce);
      return;
    }
    if (st.lastNonce != null && nonce.equals(st.lastNonce)) {
      if (req.hasErrorDetail()) {
        // Rule 7: a NACK is detected by error_detail. What we sent stays recorded as sent, so the
        // rejected version is not pushed again; only the next real change is.
        events.nackReceived(info, typeUrl, req.getVersionInfo(), nonce, req.getErrorDetail().getMessage());
      } else {
        events.ackReceived(info, typeUrl, req.getVersionInfo(), nonce);
      }
    }
    updateSubscription(st, req.getResourceNamesList());
  }

  private void updateSubscription(TypeState st, List<String> requested) {
    Set<String> names = new TreeSet<>(requested);
    boolean star = names.remove("*");
    // Rule 12: an empty list is a wildcard only before the first explicit subscription.
    boolean wildcard = star || (requested.isEmpty() && !st.explicitSeen);
    if (!names.isEmpty()) {
      st.explicitSeen = true;
    }
    for (String added : names) {
      if (!st.names.contains(added)) {
        st.forced.add(added); // Rule 11: answer newly requested names at once, even if unchanged.
      }
    }
    for (String removed : st.names) {
      if (!names.contains(removed)) {
        st.sent.remove(removed);
        st.forced.remove(removed);
        st.reportedUnknown.remove(removed);
      }
    }
    boolean subscriptionChanged = !names.equals(st.names) || wildcard != st.wildcard;
    if (wildcard && !st.wildcard) {
      st.sent.clear();
    }
    st.names = names;
    st.wildcard = wildcard;
    if (subscriptionChanged || st.lastNonce == null) {
      st.owesFullResponse = true;
    }
    if (subscriptionChanged || !st.subscriptionReported) {
      st.subscriptionReported = true;
      events.subscriptionChanged(info, st.typeUrl, Set.copyOf(names), wildcard);
    }
  }

  /**
   * Rule 22, make before break: types go out in push order, and a full-state type followed by
   * another type on this stream (clusters, before listeners) first keeps what it would delete, so
   * a listener never points at a cluster that is already gone; the deletion follows once the later
   * types are sent.
   */
  @Override
  List<DiscoveryResponse> computeResponses(XdsState state, boolean byUpdate) {
    return inPushOrder(types.values(), (st, keepStale) -> compute(st, state, byUpdate, keepStale));
  }

  private DiscoveryResponse compute(TypeState st, XdsState state, boolean byUpdate, boolean keepStale) {
    TypeView view = state.view(st.typeUrl, info.node(), info.caller());
    Map<String, Resource> current = new TreeMap<>();
    if (st.wildcard) {
      for (Resource r : view.wildcard()) {
        current.put(r.name(), r);
      }
    }
    for (String name : st.names) {
      var r = view.get(name);
      if (r.isPresent()) {
        current.put(name, r.get());
        st.reportedUnknown.remove(name);
      } else {
        // Rule 14: remember it and push when it appears. What was sent stays recorded: SotW
        // cannot tell the client it went away, so the client still holds it, and the same
        // content coming back is not a change (rule 28), nor a reason to re-send a NACKed one (7).
        st.forced.remove(name);
        if (st.reportedUnknown.add(name)) {
          events.unknownResource(info, st.typeUrl, name, view.whyAbsent(name));
        }
      }
    }

    if (keepStale && view.fullState()) {
      st.sent.values().forEach(old -> current.putIfAbsent(old.name(), old));
    }

    List<Resource> toSend;
    if (view.fullState() || st.wildcard) {
      // Rule 13: full state. Send when anything differs from what the client has, or when a
      // subscription change owes it an answer (an empty one included, so Envoy can finish warming).
      boolean same = current.size() == st.sent.size()
          && current.values().stream().allMatch(r -> r.version().equals(sentVersion(st, r.name())));
      if (same && !st.owesFullResponse && st.forced.isEmpty()) {
        return null;
      }
      if (same && !view.fullState() && current.isEmpty() && st.lastNonce != null) {
        st.owesFullResponse = false;
        return null;
      }
      toSend = new ArrayList<>(current.values());
      st.sent.clear();
    } else {
      // Rule 10 and 8: non-wildcard types get what changed, and newly requested names.
      toSend = new ArrayList<>();
      for (Resource r : current.values()) {
        if (st.forced.contains(r.name()) || !r.version().equals(sentVersion(st, r.name()))) {
          toSend.add(r);
        }
      }
      if (toSend.isEmpty()) {
        st.owesFullResponse = false;
        return null;
      }
    }
    st.forced.clear();
    st.owesFullResponse = false;
    for (Resource r : toSend) {
      st.sent.put(r.name(), r);
    }

    String version = toSend.isEmpty() ? "" : ResourceVersions.ofSet(toSend);
    String nonce = nonces.next();
    DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder()
        .setTypeUrl(st.typeUrl)
        .setVersionInfo(version)
        .setNonce(nonce);
    for (Resource r : toSend) { // Rule 9: names are unique: they come from a map.
      b.addResources(r.body());
    }
    st.lastNonce = nonce;
    st.lastVersion = version;
    OptionalLong latency = byUpdate ? OptionalLong.of(System.nanoTime() - state.changedAtNanos()) : OptionalLong.empty();
    events.responseSent(info, st.typeUrl, version, nonce, List.copyOf(toSend), List.of(), latency);
    return b.build();
  }

  private static String sentVersion(TypeState st, String name) {
    Resource r = st.sent.get(name);
    return r == null ? null : r.version();
  }
}
