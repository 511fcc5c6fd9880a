package dev.rotor.source.workload;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.ByteString;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.workloadapi.grpc.Workload.X509SVID;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns one {@code FetchX509SVID} response into an {@link IdentitySnapshot}: every SVID in the
 * order the agent sent it (the first is the default identity), the bundle of each SVID's trust
 * domain and every federated bundle. All or nothing: one bad field rejects the whole response,
 * because a partial snapshot would silently drop identities downstream.
 *
 * <p>Only parsing happens here. Whether the material may be served (validity, chain to bundle,
 * expected trust domain) is the identity gate's decision.
 */
final class X509SvidResponses {

  private X509SvidResponses() {}

  static IdentitySnapshot toSnapshot(X509SVIDResponse response) throws MalformedResponseException {
    requireNonNull(response, "response");
    if (response.getSvidsCount() == 0) {
      // SPIRE answers PERMISSION_DENIED when it has no identity; an empty list would wipe all.
      throw new MalformedResponseException("svids: empty (expected at least one X509SVID)");
    }
    List<Svid> svids = new ArrayList<>(response.getSvidsCount());
    Bundles bundles = new Bundles();
    for (int i = 0; i < response.getSvidsCount(); i++) {
      String field = "svids[" + i + "]";
      X509SVID message = response.getSvids(i);
      Svid svid = SvidMaterial.svid(field, message.getSpiffeId(), message.getX509Svid().toByteArray(),
          message.getX509SvidKey().toByteArray(), message.getHint());
      svids.add(svid);
      TrustDomain td = svid.spiffeId().getTrustDomain();
      bundles.add(field + ".bundle", SvidMaterial.bundle(field + ".bundle", td, message.getBundle().toByteArray()));
    }
    // Sorted so that, of two bad keys, the same one is always reported.
    for (Map.Entry<String, ByteString> e : new TreeMap<>(response.getFederatedBundlesMap()).entrySet()) {
      String field = "federated_bundles[\"" + e.getKey() + "\"]";
      TrustDomain td = SvidMaterial.trustDomain(field, e.getKey());
      bundles.add(field, SvidMaterial.bundle(field, td, e.getValue().toByteArray()));
    }
    return IdentitySnapshot.of(svids, bundles.byTrustDomain);
  }

  /** Bundles by trust domain; a trust domain given twice must be given the same way. */
  private static final class Bundles {
    final Map<TrustDomain, TrustBundle> byTrustDomain = new HashMap<>();
    final Map<TrustDomain, String> origin = new HashMap<>();

    void add(String field, TrustBundle bundle) throws MalformedResponseException {
      TrustBundle previous = byTrustDomain.putIfAbsent(bundle.trustDomain(), bundle);
      if (previous == null) {
        origin.put(bundle.trustDomain(), field);
      } else if (!previous.equals(bundle)) {
        throw new MalformedResponseException(field + ": differs from the bundle of trust domain "
            + bundle.trustDomain().getName() + " in " + origin.get(bundle.trustDomain()));
      }
    }
  }
}
