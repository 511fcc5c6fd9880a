package dev.rotor.sds.conformance;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.testing.TestPki;
import io.spiffe.spiffeid.TrustDomain;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The identities the conformance suite serves: a workload in example.org, federated with partner.test. */
final class TestIdentities {

  static final TestPki EXAMPLE = TestPki.forTrustDomain("example.org");
  static final TestPki PARTNER = TestPki.forTrustDomain("partner.test");

  static final String WORKLOAD = "spiffe://example.org/workload";
  static final String OWN_BUNDLE = "spiffe://example.org";
  static final String PARTNER_BUNDLE = "spiffe://partner.test";

  private TestIdentities() {}

  /** A fresh SVID for {@link #WORKLOAD}: each call is a rotation. */
  static Svid workloadSvid() {
    return EXAMPLE.issue("/workload");
  }

  /** The workload with its own bundle and the federated partner bundle. */
  static IdentitySnapshot federated(Svid svid) {
    return snapshot(svid, EXAMPLE.bundle(), PARTNER.bundle());
  }

  /** The workload with its own bundle only. */
  static IdentitySnapshot ownOnly(Svid svid) {
    return snapshot(svid, EXAMPLE.bundle());
  }

  static IdentitySnapshot snapshot(Svid svid, TrustBundle... bundles) {
    Map<TrustDomain, TrustBundle> m = new LinkedHashMap<>();
    for (TrustBundle b : bundles) {
      m.put(b.trustDomain(), b);
    }
    return IdentitySnapshot.of(List.of(svid), m);
  }
}
