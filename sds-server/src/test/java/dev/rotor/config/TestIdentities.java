package dev.rotor.config;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.source.dev.DevCa;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Identities for the suite, issued by the development CA of {@link TestPolicy#TRUST_DOMAIN}. */
final class TestIdentities {

  private static final TrustDomain TD = TrustDomain.parse(TestPolicy.TRUST_DOMAIN);
  private static final DevCa CA = new DevCa(TD, Duration.ofDays(1), Duration.ZERO, Clock.systemUTC());

  private TestIdentities() {}

  /** A fresh SVID and the bundle: each call is a rotation (new key, new serial). */
  static IdentitySnapshot of(String spiffeId) {
    Svid svid = CA.issue(SpiffeId.parse(spiffeId), Duration.ofHours(1));
    return IdentitySnapshot.of(List.of(svid), Map.of(TD, CA.bundle()));
  }

  static IdentitySnapshot backend() {
    return of(TestPolicy.BACKEND_ID);
  }
}
