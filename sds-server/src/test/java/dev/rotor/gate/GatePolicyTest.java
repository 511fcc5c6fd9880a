package dev.rotor.gate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GatePolicyTest {

  private static final TrustDomain TD = TrustDomain.parse("example.org");

  @Test
  void expectedIdOutsideTheRequiredTrustDomain_isRejected() {
    assertThatThrownBy(() -> new GatePolicy(Optional.of(TD),
            Set.of(SpiffeId.parse("spiffe://example.org/web"), SpiffeId.parse("spiffe://other.org/db"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("expectedSpiffeIds: spiffe://other.org/db (expected: in trust domain example.org)");
  }

  @Test
  void expectedIdsAreCopied() {
    Set<SpiffeId> ids = new HashSet<>(Set.of(SpiffeId.parse("spiffe://example.org/web")));
    GatePolicy policy = new GatePolicy(Optional.of(TD), ids);

    ids.add(SpiffeId.parse("spiffe://example.org/db"));

    assertThat(policy.expectedSpiffeIds()).hasSize(1);
  }

  @Test
  void nullComponents_areRejectedByName() {
    assertThatThrownBy(() -> new GatePolicy(null, Set.of())).hasMessage("trustDomain");
    assertThatThrownBy(() -> new GatePolicy(Optional.empty(), null)).hasMessage("expectedSpiffeIds");
  }

  @Test
  void factories() {
    assertThat(GatePolicy.unrestricted()).isEqualTo(new GatePolicy(Optional.empty(), Set.of()));
    assertThat(GatePolicy.trustDomain(TD)).isEqualTo(new GatePolicy(Optional.of(TD), Set.of()));
  }
}
