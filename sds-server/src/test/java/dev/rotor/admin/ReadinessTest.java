package dev.rotor.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.gate.GateStatus;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.testing.TestPki;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** /readyz: every condition that fails is reported. */
class ReadinessTest {

  private final TestPki pki = TestPki.forTrustDomain("example.org");

  private static GateStatus serving(IdentitySnapshot s) {
    return new GateStatus(true, Optional.empty(), Map.of(), 0, Optional.empty(), Optional.of(s));
  }

  private IdentitySnapshot snapshot(Duration ttl) {
    Svid svid = pki.issue("/w", ttl);
    return IdentitySnapshot.of(List.of(svid), Map.of(pki.trustDomain(), pki.bundle()));
  }

  @Test
  void validIdentity_outsideTheMargin_policyLoaded_isReady() {
    Readiness r = new Readiness(() -> serving(snapshot(Duration.ofHours(1))), Duration.ofSeconds(30),
        Clock.systemUTC(), List::of, () -> false);
    assertThat(r.check().ready()).isTrue();
  }

  @Test
  void noIdentity_expiringIdentity_missingPolicy_stopping_areEachReported() {
    Readiness none = new Readiness(
        () -> new GateStatus(false, Optional.of("no identity snapshot accepted yet"), Map.of(), 0, Optional.empty(),
            Optional.empty()),
        Duration.ofSeconds(30), Clock.systemUTC(), () -> List.of("--policy p.yaml: no valid policy in force",
            "--sds-socket /run/rotor/sds.sock: the socket file was removed or replaced"),
        () -> true);
    assertThat(none.check().ready()).isFalse();
    assertThat(none.check().reasons()).containsExactly("shutting down", "no identity received yet",
        "--policy p.yaml: no valid policy in force", "--sds-socket /run/rotor/sds.sock: the socket file was removed"
            + " or replaced");

    Readiness expiring = new Readiness(() -> serving(snapshot(Duration.ofSeconds(20))), Duration.ofSeconds(30),
        Clock.systemUTC(), List::of, () -> false);
    assertThat(expiring.check().reasons()).singleElement().asString()
        .contains("spiffe://example.org/w", "within --ready-expiry-margin 30s");
  }
}
