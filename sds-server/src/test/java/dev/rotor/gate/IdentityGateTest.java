package dev.rotor.gate;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.rotor.gate.CertificateTestFixture.TestCa;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.source.dev.DevCa;
import dev.rotor.testing.FakeScheduler;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class IdentityGateTest {

  private static final TrustDomain TD = TrustDomain.parse("example.org");
  private static final SpiffeId WEB = SpiffeId.parse("spiffe://example.org/web");
  private static final SpiffeId DB = SpiffeId.parse("spiffe://example.org/db");

  private final FakeScheduler scheduler = new FakeScheduler();
  private final DevCa ca = new DevCa(TD, Duration.ofDays(30), Duration.ofHours(1), scheduler.clock());
  private final RecordingServedListener downstream = new RecordingServedListener(scheduler);
  private final IdentityGate gate =
      new IdentityGate(GatePolicy.trustDomain(TD), scheduler.clock(), scheduler, downstream);

  private IdentitySnapshot snapshot(Duration ttl, SpiffeId... ids) {
    List<Svid> svids = new ArrayList<>();
    for (SpiffeId id : ids) {
      svids.add(ca.issue(id, ttl));
    }
    return IdentitySnapshot.of(svids, Map.of(TD, ca.bundle()));
  }

  @Test
  void status_beforeAnySnapshot_isUnhealthyWithNothingServed() {
    GateStatus status = gate.status();

    assertThat(status.healthy()).isFalse();
    assertThat(status.unhealthyReason()).contains("no identity snapshot accepted yet");
    assertThat(status.current()).isEmpty();
    assertThat(status.refusals()).containsOnlyKeys(RefusalReason.values()).allSatisfy((r, n) -> assertThat(n).isZero());
  }

  @Test
  void onSnapshot_sameVersionTwice_isServedOnce() {
    IdentitySnapshot s = snapshot(Duration.ofHours(1), WEB);

    gate.onSnapshot(s);
    gate.onSnapshot(IdentitySnapshot.of(s.svids(), s.bundles()));

    assertThat(downstream.served()).containsExactly(s);
  }

  @Test
  void onSnapshot_newValidVersion_replacesTheServedOne() {
    IdentitySnapshot first = snapshot(Duration.ofHours(1), WEB);
    IdentitySnapshot second = snapshot(Duration.ofHours(1), WEB, DB);

    gate.onSnapshot(first);
    gate.onSnapshot(second);

    assertThat(downstream.served()).containsExactly(first, second);
    assertThat(gate.status().current()).contains(second);
    assertThat(gate.status().healthy()).isTrue();
    assertThat(gate.status().unhealthyReason()).isEmpty();
  }

  @Test
  void onSourceError_isCountedAndTheServedSnapshotStays() {
    IdentitySnapshot s = snapshot(Duration.ofHours(1), WEB);
    gate.onSnapshot(s);

    gate.onSourceError("agent unreachable", new RuntimeException("connection refused"));
    gate.onSourceError("agent unreachable", null);

    assertThat(gate.status().sourceErrors()).isEqualTo(2);
    assertThat(gate.status().current()).contains(s);
    assertThat(gate.status().healthy()).isTrue();
    assertThat(downstream.served()).containsExactly(s);
  }

  @Test
  void refusal_isLoggedAtWarnWithReasonSpiffeIdAndSerial_butNoKeyMaterial() {
    ch.qos.logback.classic.Logger gateLog =
        (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(IdentityGate.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    gateLog.addAppender(appender);
    try {
      Svid good = ca.issue(WEB, Duration.ofHours(1));
      Svid other = ca.issue(DB, Duration.ofHours(1));
      Svid swapped = new Svid(WEB, good.chain(), other.privateKey(), "");
      gate.onSnapshot(IdentitySnapshot.of(List.of(swapped), Map.of(TD, ca.bundle())));

      List<ILoggingEvent> warnings =
          appender.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
      assertThat(warnings).singleElement().satisfies(e -> assertThat(e.getFormattedMessage())
          .contains("KEY_MISMATCH", WEB.toString(), good.serialHex()));
      byte[] key = other.privateKey().getEncoded();
      for (ILoggingEvent e : appender.list) {
        assertThat(e.getFormattedMessage())
            .doesNotContain(Base64.getEncoder().encodeToString(key))
            .doesNotContain(HexFormat.of().formatHex(key))
            .doesNotContain("PRIVATE KEY");
      }
      assertThat(gate.status().lastRefusal().orElseThrow().detail())
          .contains(WEB.toString(), good.serialHex())
          .doesNotContain(Base64.getEncoder().encodeToString(key));
    } finally {
      gateLog.detachAppender(appender);
    }
  }

  @Test
  void refusal_afterAGoodSnapshot_keepsServingIt_andItsExpiryIsStillWatched() {
    IdentitySnapshot good = snapshot(Duration.ofHours(1), WEB);
    gate.onSnapshot(good);

    gate.onSnapshot(IdentitySnapshot.of(good.svids(), Map.of()));
    assertThat(gate.status().current()).contains(good);
    assertThat(gate.status().lastRefusal().orElseThrow().reason()).isEqualTo(RefusalReason.NO_BUNDLE);

    scheduler.advance(Duration.ofHours(1));
    assertThat(downstream.last().svids()).isEmpty();
    assertThat(gate.status().healthy()).isFalse();
  }

  @Test
  void svidAtExactlyItsNotAfter_isRefusedAsExpired() {
    IdentitySnapshot s = snapshot(Duration.ofMinutes(10), WEB);
    scheduler.advance(Duration.ofMinutes(10));

    gate.onSnapshot(s);

    assertThat(gate.status().lastRefusal().orElseThrow().reason()).isEqualTo(RefusalReason.EXPIRED);
    assertThat(downstream.served()).isEmpty();
  }

  @Test
  void svidAtExactlyItsNotBefore_isAccepted() {
    TestCa root = CertificateTestFixture.root(TD, scheduler.now());
    Svid svid = CertificateTestFixture.leaf(root, WEB, scheduler.now())
        .validity(scheduler.now(), scheduler.now().plus(Duration.ofHours(1)))
        .build();

    gate.onSnapshot(IdentitySnapshot.of(List.of(svid), Map.of(TD, TrustBundle.of(TD, List.of(root.certificate())))));

    assertThat(gate.status().lastRefusal()).isEmpty();
    assertThat(gate.status().healthy()).isTrue();
  }

  @Test
  void rsaKeys_matchingOnesPass_andAnotherRsaKeyIsRefused() {
    TestCa root = CertificateTestFixture.root(TD, scheduler.now());
    TrustBundle bundle = TrustBundle.of(TD, List.of(root.certificate()));
    Svid rsa = CertificateTestFixture.leaf(root, WEB, scheduler.now()).rsa().build();
    Svid otherRsa = CertificateTestFixture.leaf(root, DB, scheduler.now()).rsa().build();

    gate.onSnapshot(IdentitySnapshot.of(List.of(rsa), Map.of(TD, bundle)));
    assertThat(gate.status().current().orElseThrow().svids()).containsExactly(rsa);

    gate.onSnapshot(IdentitySnapshot.of(
        List.of(new Svid(WEB, rsa.chain(), otherRsa.privateKey(), "")), Map.of(TD, bundle)));
    assertThat(gate.status().lastRefusal().orElseThrow().reason()).isEqualTo(RefusalReason.KEY_MISMATCH);
  }

  @Test
  void ecKeyForAnRsaCertificate_isRefusedAsKeyMismatch() {
    TestCa root = CertificateTestFixture.root(TD, scheduler.now());
    Svid rsa = CertificateTestFixture.leaf(root, WEB, scheduler.now()).rsa().build();
    Svid ec = ca.issue(WEB, Duration.ofHours(1));

    gate.onSnapshot(IdentitySnapshot.of(List.of(new Svid(WEB, rsa.chain(), ec.privateKey(), "")),
        Map.of(TD, TrustBundle.of(TD, List.of(root.certificate())))));

    assertThat(gate.status().lastRefusal().orElseThrow().reason()).isEqualTo(RefusalReason.KEY_MISMATCH);
  }

  @Test
  void chainThroughAnIntermediate_verifies_andWithoutTheIntermediateIsRefused() {
    TestCa root = CertificateTestFixture.root(TD, scheduler.now());
    TestCa intermediate = root.intermediate(scheduler.now());
    TrustBundle bundle = TrustBundle.of(TD, List.of(root.certificate()));
    Svid full = CertificateTestFixture.leaf(intermediate, WEB, scheduler.now())
        .intermediates(intermediate.certificate()).build();
    Svid leafOnly = new Svid(WEB, List.of(full.leaf()), full.privateKey(), "");

    gate.onSnapshot(IdentitySnapshot.of(List.of(leafOnly), Map.of(TD, bundle)));
    assertThat(gate.status().lastRefusal().orElseThrow().reason()).isEqualTo(RefusalReason.CHAIN_INVALID);

    gate.onSnapshot(IdentitySnapshot.of(List.of(full), Map.of(TD, bundle)));
    assertThat(gate.status().current().orElseThrow().svids()).containsExactly(full);
  }

  @Test
  void chainThatEndsWithTheRootFromTheBundle_verifies() {
    Svid svid = ca.issue(WEB, Duration.ofHours(1));
    X509Certificate root = ca.caCertificate();

    gate.onSnapshot(IdentitySnapshot.of(
        List.of(new Svid(WEB, List.of(svid.leaf(), root), svid.privateKey(), "")), Map.of(TD, ca.bundle())));

    assertThat(gate.status().lastRefusal()).isEmpty();
  }

  @Test
  void expiryTimer_followsTheServedSnapshot_notAReplacedOne() {
    gate.onSnapshot(snapshot(Duration.ofHours(1), WEB));
    IdentitySnapshot longer = snapshot(Duration.ofHours(2), WEB);
    gate.onSnapshot(longer);

    scheduler.advance(Duration.ofHours(1));
    assertThat(downstream.last()).isEqualTo(longer);
    assertThat(gate.status().healthy()).isTrue();

    scheduler.advance(Duration.ofHours(1));
    assertThat(downstream.last().svids()).isEmpty();
    assertThat(downstream.served()).hasSize(3);
  }

  @Test
  void partialExpiry_keepsTheValidSvids_butReportsUnhealthyUntilAReplacementArrives() {
    Svid shortLived = ca.issue(WEB, Duration.ofMinutes(10));
    Svid longLived = ca.issue(DB, Duration.ofHours(1));
    gate.onSnapshot(IdentitySnapshot.of(List.of(longLived, shortLived), Map.of(TD, ca.bundle())));

    scheduler.advance(Duration.ofMinutes(10));

    assertThat(downstream.last().svids()).containsExactly(longLived);
    GateStatus status = gate.status();
    assertThat(status.healthy()).isFalse();
    assertThat(status.unhealthyReason().orElseThrow()).contains(WEB.toString(), shortLived.serialHex(), "expired");

    gate.onSnapshot(snapshot(Duration.ofHours(1), WEB, DB));
    assertThat(gate.status().healthy()).isTrue();
  }

  @Test
  void expiryOfTheDefaultSvid_withdrawsAll_soNoOtherIdentityBecomesTheDefault() {
    Svid defaultSvid = ca.issue(WEB, Duration.ofMinutes(10));
    Svid other = ca.issue(DB, Duration.ofHours(1));
    gate.onSnapshot(IdentitySnapshot.of(List.of(defaultSvid, other), Map.of(TD, ca.bundle())));

    scheduler.advance(Duration.ofMinutes(10));

    assertThat(downstream.last().svids()).isEmpty();
    assertThat(downstream.last().bundles()).containsKey(TD);
    assertThat(gate.status().healthy()).isFalse();
  }

  @Test
  void status_reportsUnhealthy_whenAnSvidExpiredBeforeTheTimerRan() {
    // A real scheduler may run the expiry timer late; health must not wait for it.
    IdentityGate lazy = new IdentityGate(GatePolicy.unrestricted(), scheduler.clock(), new FakeScheduler(), s -> {});
    lazy.onSnapshot(snapshot(Duration.ofMinutes(10), WEB));

    scheduler.advance(Duration.ofMinutes(10));

    assertThat(lazy.status().healthy()).isFalse();
    assertThat(lazy.status().unhealthyReason().orElseThrow()).contains("expired");
  }

  @Test
  void downstreamCallingBackIntoTheGate_isHandledAfterItReturns_inOrder() {
    IdentitySnapshot first = snapshot(Duration.ofHours(1), WEB);
    IdentitySnapshot second = snapshot(Duration.ofHours(1), WEB, DB);
    List<IdentitySnapshot> seen = new ArrayList<>();
    IdentityGate[] holder = new IdentityGate[1];
    holder[0] = new IdentityGate(GatePolicy.unrestricted(), scheduler.clock(), scheduler, s -> {
      seen.add(s);
      if (s.equals(first)) {
        holder[0].onSnapshot(second);
        seen.add(null); // marks that onSnapshot returned before second was served
      }
    });

    holder[0].onSnapshot(first);

    assertThat(seen).containsExactly(first, null, second);
    assertThat(holder[0].status().current()).contains(second);
  }

  @Test
  void downstreamThatThrows_doesNotStopTheGate() {
    IdentitySnapshot first = snapshot(Duration.ofHours(1), WEB);
    IdentitySnapshot second = snapshot(Duration.ofHours(1), DB);
    List<IdentitySnapshot> seen = new ArrayList<>();
    IdentityGate failing = new IdentityGate(GatePolicy.unrestricted(), scheduler.clock(), scheduler, s -> {
      seen.add(s);
      throw new IllegalStateException("downstream broke");
    });

    failing.onSnapshot(first);
    failing.onSnapshot(second);

    assertThat(seen).containsExactly(first, second);
    assertThat(failing.status().current()).contains(second);
  }

  @Test
  void candidatesFromManyThreads_areServedOneAtATime_andTheLastServedIsCurrent() throws Exception {
    List<IdentitySnapshot> candidates =
        List.of(snapshot(Duration.ofHours(1), WEB), snapshot(Duration.ofHours(1), DB), snapshot(Duration.ofHours(1), WEB, DB));
    List<IdentitySnapshot> served = new ArrayList<>();
    int[] inside = new int[1];
    List<String> overlaps = new ArrayList<>();
    IdentityGate concurrent = new IdentityGate(GatePolicy.unrestricted(), scheduler.clock(), scheduler, s -> {
      synchronized (served) {
        if (++inside[0] > 1) {
          overlaps.add("two onServed calls at once");
        }
        served.add(s);
      }
      synchronized (served) {
        inside[0]--;
      }
    });
    int threads = 4;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch go = new CountDownLatch(1);
    try {
      for (int t = 0; t < threads; t++) {
        int offset = t;
        pool.execute(() -> {
          try {
            go.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          for (int i = 0; i < 100; i++) {
            concurrent.onSnapshot(candidates.get((i + offset) % candidates.size()));
          }
        });
      }
      go.countDown();
    } finally {
      pool.shutdown();
      assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).as("workers finished within 30 s").isTrue();
    }

    synchronized (served) {
      assertThat(overlaps).isEmpty();
      assertThat(served).isNotEmpty();
      for (int i = 1; i < served.size(); i++) {
        assertThat(served.get(i).version()).as("served twice in a row at %d", i).isNotEqualTo(served.get(i - 1).version());
      }
      assertThat(concurrent.status().current()).contains(served.get(served.size() - 1));
    }
    assertThat(concurrent.status().totalRefusals()).isZero();
  }

  @Test
  void policyWithExpectedIds_acceptsThem() {
    IdentityGate strict = new IdentityGate(new GatePolicy(Optional.of(TD), Set.of(WEB, DB)), scheduler.clock(),
        scheduler, downstream);

    strict.onSnapshot(snapshot(Duration.ofHours(1), DB, WEB));

    assertThat(strict.status().healthy()).isTrue();
  }
}
