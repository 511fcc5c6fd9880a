package dev.rotor.gate;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.testing.FakeScheduler;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

/**
 * Properties of the gate over random snapshots: valid ones always pass; breaking exactly one
 * invariant is always refused with that reason and nothing reaches downstream; expiry withdraws.
 *
 * <p>Each case has its own seed, printed in every assertion message. Re-run one family from a
 * different base with {@code -Drotor.gate.seed=<long>}, and more or fewer cases with {@code
 * -Drotor.gate.cases=<n>} (40 by default, to keep the unit run short; the documented longer run uses 1000).
 */
class IdentityGatePropertyTest {

  private static final int CASES = Integer.getInteger("rotor.gate.cases", 40);
  private static final long BASE_SEED = Long.getLong("rotor.gate.seed", 0x5EED_2026L);

  private static Level savedLevel;

  /** Thousands of refusals are the point here; keep their WARN lines out of the build output. */
  @BeforeAll
  static void quietGateLogs() {
    ch.qos.logback.classic.Logger gateLog =
        (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(IdentityGate.class);
    savedLevel = gateLog.getLevel();
    gateLog.setLevel(Level.ERROR);
  }

  @AfterAll
  static void restoreGateLogs() {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(IdentityGate.class)).setLevel(savedLevel);
  }

  /** One way to break a valid snapshot, and the reason the gate must give. */
  enum Mutation {
    EXPIRED(RefusalReason.EXPIRED, false, false, (s, r) -> s.breakExpired(s.randomSvidIndex())),
    NOT_YET_VALID(RefusalReason.NOT_YET_VALID, false, false, (s, r) -> s.breakNotYetValid(s.randomSvidIndex())),
    KEY_SWAPPED_WITH_ANOTHER_SVID(RefusalReason.KEY_MISMATCH, false, false,
        (s, r) -> s.breakKeyBySwappingWithAnotherSvid(s.randomSvidIndex())),
    WRONG_TRUST_DOMAIN(RefusalReason.WRONG_TRUST_DOMAIN, true, false,
        (s, r) -> s.breakTrustDomain(s.randomSvidIndex())),
    UNEXPECTED_SPIFFE_ID(RefusalReason.UNEXPECTED_SPIFFE_ID, false, true,
        (s, r) -> s.breakExpectedId(s.randomSvidIndex())),
    CHAIN_FROM_CA_NOT_IN_BUNDLE(RefusalReason.CHAIN_INVALID, false, false,
        (s, r) -> s.breakChainWithAnUnknownCa(s.randomSvidIndex())),
    MISSING_BUNDLE(RefusalReason.NO_BUNDLE, false, false, (s, r) -> s.breakBundleByRemovingIt(s.randomSvidIndex())),
    LEAF_WITH_CA_BIT(RefusalReason.NOT_SPIFFE_CONFORMANT, false, false,
        (s, r) -> s.breakConformanceWithCaLeaf(s.randomSvidIndex())),
    LEAF_WITH_KEY_CERT_SIGN(RefusalReason.NOT_SPIFFE_CONFORMANT, false, false,
        (s, r) -> s.breakConformanceWithCertSignKeyUsage(s.randomSvidIndex())),
    LEAF_WITH_TWO_URI_SANS(RefusalReason.NOT_SPIFFE_CONFORMANT, false, false,
        (s, r) -> s.breakConformanceWithTwoUriSans(s.randomSvidIndex())),
    LEAF_URI_SAN_NOT_THE_SVID_ID(RefusalReason.NOT_SPIFFE_CONFORMANT, false, false,
        (s, r) -> s.breakConformanceWithOtherUriSan(s.randomSvidIndex())),
    NO_SVID(RefusalReason.NO_SVID, false, false, (s, r) -> s.removeAllSvids());

    final RefusalReason expected;
    final boolean needsPolicyTrustDomain;
    final boolean needsExpectedIds;
    final BiConsumer<SnapshotScenario, Random> apply;

    Mutation(RefusalReason expected, boolean needsPolicyTrustDomain, boolean needsExpectedIds,
        BiConsumer<SnapshotScenario, Random> apply) {
      this.expected = expected;
      this.needsPolicyTrustDomain = needsPolicyTrustDomain;
      this.needsExpectedIds = needsExpectedIds;
      this.apply = apply;
    }
  }

  @Test
  void validSnapshots_alwaysPass() {
    for (int c = 0; c < CASES; c++) {
      long seed = BASE_SEED + c;
      Random rnd = new Random(seed);
      FakeScheduler scheduler = new FakeScheduler();
      SnapshotScenario scenario = SnapshotScenario.random(rnd, scheduler, false, false);
      RecordingServedListener downstream = new RecordingServedListener(scheduler);
      IdentityGate gate = new IdentityGate(scenario.policy(), scheduler.clock(), scheduler, downstream);
      IdentitySnapshot snapshot = scenario.snapshot();

      gate.onSnapshot(snapshot);

      String msg = "seed " + seed + ", snapshot " + snapshot + ", policy " + scenario.policy()
          + ", last refusal " + gate.status().lastRefusal();
      assertThat(downstream.served()).as(msg).containsExactly(snapshot);
      GateStatus status = gate.status();
      assertThat(status.healthy()).as(msg).isTrue();
      assertThat(status.current()).as(msg).contains(snapshot);
      assertThat(status.totalRefusals()).as(msg).isZero();
    }
  }

  @ParameterizedTest
  @EnumSource(Mutation.class)
  void snapshotBreakingOneInvariant_isRefusedWithThatReason_andTheLastGoodOneStays(Mutation mutation) {
    for (int c = 0; c < CASES; c++) {
      long seed = BASE_SEED + 1_000_000L * (mutation.ordinal() + 1) + c;
      Random rnd = new Random(seed);
      FakeScheduler scheduler = new FakeScheduler();
      SnapshotScenario scenario =
          SnapshotScenario.random(rnd, scheduler, mutation.needsPolicyTrustDomain, mutation.needsExpectedIds);
      IdentitySnapshot good = scenario.snapshot();
      mutation.apply.accept(scenario, rnd);
      IdentitySnapshot bad = scenario.snapshot();
      RecordingServedListener downstream = new RecordingServedListener(scheduler);
      IdentityGate gate = new IdentityGate(scenario.policy(), scheduler.clock(), scheduler, downstream);
      boolean goodFirst = rnd.nextBoolean();

      if (goodFirst) {
        gate.onSnapshot(good);
      }
      gate.onSnapshot(bad);

      GateStatus status = gate.status();
      String msg = "seed " + seed + ", mutation " + mutation + ", good first " + goodFirst + ", bad " + bad
          + ", policy " + scenario.policy() + ", last refusal " + status.lastRefusal();
      assertThat(status.lastRefusal()).as(msg).isPresent();
      assertThat(status.lastRefusal().get().reason()).as(msg).isEqualTo(mutation.expected);
      assertThat(status.refusalCount(mutation.expected)).as(msg).isEqualTo(1);
      assertThat(status.totalRefusals()).as(msg).isEqualTo(1);
      assertThat(status.lastRefusal().get().at()).as(msg).isEqualTo(scheduler.now());
      if (goodFirst) {
        assertThat(downstream.served()).as(msg).containsExactly(good);
        assertThat(status.current()).as(msg).contains(good);
        assertThat(status.healthy()).as(msg).isTrue();
      } else {
        assertThat(downstream.served()).as(msg).isEmpty();
        assertThat(status.current()).as(msg).isEmpty();
        assertThat(status.healthy()).as(msg).isFalse();
      }
    }
  }

  @Test
  void expiry_withdrawsExpiredSvids_flipsHealth_andAValidReplacementRestoresIt() {
    for (int c = 0; c < CASES; c++) {
      long seed = BASE_SEED - 1 - c;
      Random rnd = new Random(seed);
      FakeScheduler scheduler = new FakeScheduler();
      SnapshotScenario scenario = SnapshotScenario.random(rnd, scheduler, false, false);
      RecordingServedListener downstream = new RecordingServedListener(scheduler);
      IdentityGate gate = new IdentityGate(scenario.policy(), scheduler.clock(), scheduler, downstream);
      IdentitySnapshot snapshot = scenario.snapshot();
      gate.onSnapshot(snapshot);
      Instant earliest = snapshot.earliestSvidExpiry().orElseThrow();
      String msg = "seed " + seed + ", snapshot " + snapshot;

      scheduler.advance(Duration.between(scheduler.now(), earliest).minusNanos(1));
      assertThat(gate.status().healthy()).as(msg).isTrue();
      assertThat(downstream.served()).as(msg).hasSize(1);

      scheduler.advance(Duration.ofNanos(1));
      // When the default (first) SVID expires, all are withdrawn: no other ID may become "default".
      boolean defaultExpired = !snapshot.svids().get(0).notAfter().isAfter(earliest);
      List<Svid> stillValid = defaultExpired ? List.of()
          : snapshot.svids().stream().filter(s -> s.notAfter().isAfter(earliest)).toList();
      assertThat(downstream.served()).as(msg).hasSize(2);
      IdentitySnapshot withdrawn = downstream.last();
      assertThat(withdrawn.svids()).as(msg).isEqualTo(stillValid);
      assertThat(withdrawn.bundles()).as(msg).isEqualTo(snapshot.bundles());
      assertThat(gate.status().healthy()).as(msg).isFalse();
      assertThat(gate.status().unhealthyReason()).as(msg).get().asString().contains("expired");
      assertThat(gate.status().current()).as(msg).contains(withdrawn);

      // Run until every SVID has expired: bundles are still served, no SVID is.
      Instant latest = snapshot.svids().stream().map(Svid::notAfter).max(Instant::compareTo).orElseThrow();
      scheduler.advance(Duration.between(scheduler.now(), latest));
      assertThat(downstream.last().svids()).as(msg).isEmpty();
      assertThat(downstream.last().bundles()).as(msg).isEqualTo(snapshot.bundles());
      assertThat(gate.status().healthy()).as(msg).isFalse();
      downstream.assertNothingServedWhileExpired(msg);

      IdentitySnapshot replacement = scenario.reissued();
      gate.onSnapshot(replacement);
      assertThat(gate.status().lastRefusal()).as(msg).isEmpty();
      assertThat(downstream.last()).as(msg).isEqualTo(replacement);
      assertThat(gate.status().healthy()).as(msg).isTrue();
    }
  }
}
