package dev.rotor.node;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.ByteString;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.source.workload.MalformedResponseException;
import dev.rotor.source.workload.SvidMaterial;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509BundlesResponse;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509SVIDsResponse;
import dev.rotor.spire.api.agent.delegatedidentity.v1.X509SVIDWithKey;
import dev.rotor.spire.api.types.X509SVID;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One answer of the Delegated Identity API, parsed: a workload's SVIDs in SPIRE's order (the first
 * is its default) and the trust domains it federates with. All or nothing, as for the Workload API
 * ({@code X509SvidResponses}): one bad field rejects the whole answer. Only parsing: the identity
 * gate decides what may be served.
 */
record DelegatedSvids(List<Svid> svids, Set<TrustDomain> federatesWith) {

  DelegatedSvids {
    svids = List.copyOf(requireNonNull(svids, "svids"));
    federatesWith = Set.copyOf(requireNonNull(federatesWith, "federatesWith"));
  }

  /** The SPIFFE IDs, in order: what attests a caller and what keys its workload. */
  List<SpiffeId> spiffeIds() {
    return svids.stream().map(Svid::spiffeId).toList();
  }

  static DelegatedSvids parse(SubscribeToX509SVIDsResponse response) throws MalformedResponseException {
    List<Svid> svids = new ArrayList<>(response.getX509SvidsCount());
    for (int i = 0; i < response.getX509SvidsCount(); i++) {
      String field = "x509_svids[" + i + "]";
      X509SVIDWithKey withKey = response.getX509Svids(i);
      X509SVID svid = withKey.getX509Svid();
      if (svid.getCertChainCount() == 0) {
        throw new MalformedResponseException(field + ".x509_svid.cert_chain: empty (expected the leaf and intermediates)");
      }
      String declared = "spiffe://" + svid.getId().getTrustDomain() + svid.getId().getPath();
      svids.add(SvidMaterial.svid(field, declared, concatenate(svid.getCertChainList()),
          withKey.getX509SvidKey().toByteArray(), svid.getHint()));
    }
    Set<TrustDomain> federates = new LinkedHashSet<>();
    for (int i = 0; i < response.getFederatesWithCount(); i++) {
      federates.add(SvidMaterial.trustDomain("federates_with[" + i + "]", response.getFederatesWith(i)));
    }
    return new DelegatedSvids(svids, federates);
  }

  /** Every bundle of a {@code SubscribeToX509Bundles} answer, by trust domain. */
  static Map<TrustDomain, TrustBundle> bundles(SubscribeToX509BundlesResponse response)
      throws MalformedResponseException {
    Map<TrustDomain, TrustBundle> out = new LinkedHashMap<>();
    // Sorted so that, of two bad keys, the same one is always reported.
    for (Map.Entry<String, ByteString> e : new TreeMap<>(response.getCaCertificatesMap()).entrySet()) {
      String field = "ca_certificates[\"" + e.getKey() + "\"]";
      TrustDomain td = SvidMaterial.trustDomain(field, e.getKey());
      out.put(td, SvidMaterial.bundle(field, td, e.getValue().toByteArray()));
    }
    return out;
  }

  private static byte[] concatenate(List<ByteString> ders) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ders.forEach(d -> out.writeBytes(d.toByteArray()));
    return out.toByteArray();
  }
}
