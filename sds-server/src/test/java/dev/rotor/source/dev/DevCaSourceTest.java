package dev.rotor.source.dev;

import static dev.rotor.source.dev.DevCaTest.pkixValidate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.testing.FakeScheduler;
import dev.rotor.testing.RecordingIdentityListener;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DevCaSourceTest {

  private static final TrustDomain TD = TrustDomain.parse("example.org");
  private static final SpiffeId WEB = SpiffeId.parse("spiffe://example.org/web");
  private static final SpiffeId DB = SpiffeId.parse("spiffe://example.org/db");

  private final FakeScheduler scheduler = new FakeScheduler();
  private final RecordingIdentityListener listener = new RecordingIdentityListener();
  private DevCaSource source;

  @AfterEach
  void close() {
    if (source != null) {
      source.close();
    }
  }

  private DevCaSource start(DevCaOptions options) {
    source = new DevCaSource(options, scheduler.clock(), scheduler);
    source.start(listener);
    scheduler.runDueTasks();
    return source;
  }

  private static DevCaOptions options(Duration svidTtl, Duration caTtl, Duration rotation, Duration overlap) {
    return DevCaOptions.of(TD, List.of(WEB, DB), svidTtl, caTtl, rotation, overlap);
  }

  @Test
  void start_deliversOneSvidPerSpiffeIdWithTheFirstAsDefault() throws Exception {
    start(options(Duration.ofHours(1), Duration.ofDays(1), Duration.ZERO, Duration.ZERO));

    assertThat(listener.snapshots()).hasSize(1);
    IdentitySnapshot s = listener.last();
    assertThat(s.svids()).extracting(Svid::spiffeId).containsExactly(WEB, DB);
    assertThat(s.defaultSvid().map(Svid::spiffeId)).contains(WEB);
    assertThat(s.bundles()).containsOnlyKeys(TD);
    assertThat(s.bundles().get(TD).authorities()).hasSize(1);
    for (Svid svid : s.svids()) {
      pkixValidate(svid, s.bundles().get(TD), scheduler.now());
    }
    assertThat(listener.errors()).isEmpty();
  }

  @Test
  void start_withDnsNames_putsThemInEverySvid() throws Exception {
    start(new DevCaOptions(TD, List.of(WEB), Duration.ofHours(1), Duration.ofDays(1), Duration.ZERO,
        Duration.ZERO, List.of("web.example.org")));

    X509Certificate leaf = listener.last().svids().get(0).leaf();
    assertThat(leaf.getSubjectX500Principal().getName()).contains("CN=web.example.org");
  }

  @Test
  void svids_areReissuedAtHalfTheTtl_withANewVersion() {
    start(options(Duration.ofHours(1), Duration.ofDays(1), Duration.ZERO, Duration.ZERO));
    IdentitySnapshot first = listener.last();

    scheduler.advance(Duration.ofMinutes(30).minusNanos(1));
    assertThat(listener.snapshots()).hasSize(1);

    scheduler.advance(Duration.ofNanos(1));
    assertThat(listener.snapshots()).hasSize(2);
    IdentitySnapshot second = listener.last();
    assertThat(second.version()).isNotEqualTo(first.version());
    assertThat(second.svids().get(0).serial()).isNotEqualTo(first.svids().get(0).serial());
    assertThat(second.svids().get(0).notAfter()).isEqualTo(scheduler.now().plus(Duration.ofHours(1)));
    assertThat(second.bundles()).isEqualTo(first.bundles());
  }

  @Test
  void everyDeliveredSnapshotVerifiesAndIsValidWhenDelivered_overADayOfRotations() throws Exception {
    start(options(Duration.ofMinutes(10), Duration.ofHours(4), Duration.ofHours(1), Duration.ofMinutes(15)));

    scheduler.advance(Duration.ofDays(1));

    // 24 rotations, 5 re-issues between rotations, 24 overlap ends.
    assertThat(listener.snapshots()).hasSizeGreaterThan(24 * 6);
    assertThat(listener.snapshots()).extracting(IdentitySnapshot::version).doesNotHaveDuplicates();
    for (IdentitySnapshot s : listener.snapshots()) {
      Instant issuedAt = s.svids().get(0).notBefore().plus(DevCa.BACKDATE);
      for (Svid svid : s.svids()) {
        pkixValidate(svid, s.bundles().get(TD), issuedAt);
      }
    }
    assertThat(listener.errors()).isEmpty();
  }

  @Test
  void caRotation_deliversBothCasDuringOverlap_thenOnlyTheNewCa() throws Exception {
    start(options(Duration.ofHours(2), Duration.ofDays(1), Duration.ofHours(6), Duration.ofMinutes(20)));
    X509Certificate oldCa = onlyAuthority(listener.last().bundles().get(TD));

    scheduler.advance(Duration.ofHours(6));
    IdentitySnapshot during = listener.last();
    List<X509Certificate> duringCas = during.bundles().get(TD).authorities();
    assertThat(duringCas).hasSize(2).contains(oldCa);
    X509Certificate newCa = duringCas.stream().filter(c -> !c.equals(oldCa)).findFirst().orElseThrow();
    for (Svid svid : during.svids()) {
      assertThat(svid.notBefore()).isEqualTo(scheduler.now().minus(DevCa.BACKDATE));
      svid.leaf().verify(newCa.getPublicKey());
    }

    int delivered = listener.snapshots().size();
    scheduler.advance(Duration.ofMinutes(20).minusNanos(1));
    assertThat(listener.snapshots()).hasSize(delivered);

    scheduler.advance(Duration.ofNanos(1));
    IdentitySnapshot after = listener.last();
    assertThat(listener.snapshots()).hasSize(delivered + 1);
    assertThat(after.bundles().get(TD).authorities()).containsExactly(newCa);
    assertThat(after.svids()).isEqualTo(during.svids());
    assertThat(after.version()).isNotEqualTo(during.version());
  }

  @Test
  void caRotation_withZeroPeriod_neverRotates() {
    start(options(Duration.ofHours(1), Duration.ofDays(30), Duration.ZERO, Duration.ZERO));
    X509Certificate ca = onlyAuthority(listener.last().bundles().get(TD));

    scheduler.advance(Duration.ofDays(3));

    assertThat(listener.snapshots()).allSatisfy(s -> assertThat(onlyAuthority(s.bundles().get(TD))).isEqualTo(ca));
  }

  @Test
  void caExpiry_withoutRotation_reportsErrorAndStopsInsteadOfIssuingDeadCertificates() {
    start(options(Duration.ofHours(1), Duration.ofHours(2), Duration.ZERO, Duration.ZERO));

    scheduler.advance(Duration.ofHours(3));

    assertThat(listener.errors()).singleElement().asString().contains("set a CA rotation period");
    for (IdentitySnapshot s : listener.snapshots()) {
      Instant issuedAt = s.svids().get(0).notBefore().plus(DevCa.BACKDATE);
      assertThat(s.earliestSvidExpiry().orElseThrow()).isAfter(issuedAt.plus(DevCaOptions.MIN_TTL));
    }
    assertThat(scheduler.pendingTasks()).isZero();
  }

  @Test
  void close_stopsAllDeliveries() {
    start(options(Duration.ofMinutes(10), Duration.ofHours(4), Duration.ofHours(1), Duration.ofMinutes(15)));

    source.close();
    scheduler.runDueTasks();
    scheduler.advance(Duration.ofDays(1));

    assertThat(listener.snapshots()).hasSize(1);
    assertThat(scheduler.pendingTasks()).isZero();
  }

  @Test
  void close_isIdempotent() {
    start(options(Duration.ofMinutes(10), Duration.ofHours(4), Duration.ZERO, Duration.ZERO));

    source.close();
    assertThatCode(source::close).doesNotThrowAnyException();
  }

  @Test
  void start_twice_isRejected() {
    start(options(Duration.ofMinutes(10), Duration.ofHours(4), Duration.ZERO, Duration.ZERO));

    assertThatThrownBy(() -> source.start(listener)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void describe_namesTrustDomain() {
    start(options(Duration.ofMinutes(10), Duration.ofHours(4), Duration.ZERO, Duration.ZERO));

    assertThat(source.describe()).startsWith("dev-ca spiffe://example.org");
  }

  private static X509Certificate onlyAuthority(TrustBundle bundle) {
    assertThat(bundle.authorities()).hasSize(1);
    return bundle.authorities().get(0);
  }
}
