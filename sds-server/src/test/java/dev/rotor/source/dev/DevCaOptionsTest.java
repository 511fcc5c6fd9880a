package dev.rotor.source.dev;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DevCaOptionsTest {

  private static final TrustDomain TD = TrustDomain.parse("example.org");
  private static final List<SpiffeId> IDS = List.of(SpiffeId.parse("spiffe://example.org/web"));
  private static final Duration H = Duration.ofHours(1);
  private static final Duration D = Duration.ofDays(1);

  @Test
  void typicalOptions_areAccepted() {
    assertThatCode(() -> new DevCaOptions(TD, IDS, H, D, Duration.ofHours(6), Duration.ofHours(1),
        List.of("db.example.org", "*.svc.example.org", "localhost")))
        .doesNotThrowAnyException();
  }

  @Test
  void boundaries_areAccepted() {
    assertThatCode(() -> DevCaOptions.of(TD, IDS, Duration.ofSeconds(10), Duration.ofSeconds(11), Duration.ZERO,
        Duration.ZERO)).doesNotThrowAnyException();
    assertThatCode(() -> DevCaOptions.of(TD, IDS, Duration.ofDays(30), Duration.ofDays(3650), Duration.ofDays(3000),
        Duration.ofDays(650))).doesNotThrowAnyException();
  }

  static Stream<Arguments> invalidOptions() {
    return Stream.of(
        Arguments.of("no SPIFFE IDs",
            args(List.of(), H, D, Duration.ZERO, Duration.ZERO, List.of()),
            "spiffeIds: [] (expected: at least one SPIFFE ID)"),
        Arguments.of("ID in another trust domain",
            args(List.of(IDS.get(0), SpiffeId.parse("spiffe://other.org/db")), H, D, Duration.ZERO, Duration.ZERO,
                List.of()),
            "spiffeIds[1]: spiffe://other.org/db (expected: in trust domain example.org)"),
        Arguments.of("SVID TTL too short",
            args(IDS, Duration.ofSeconds(1), D, Duration.ZERO, Duration.ZERO, List.of()),
            "svidTtl: PT1S (expected: between 10s and 30d)"),
        Arguments.of("SVID TTL too long",
            args(IDS, Duration.ofDays(31), Duration.ofDays(365), Duration.ZERO, Duration.ZERO, List.of()),
            "svidTtl: PT744H (expected: between 10s and 30d)"),
        Arguments.of("SVID TTL negative",
            args(IDS, Duration.ofSeconds(-5), D, Duration.ZERO, Duration.ZERO, List.of()),
            "svidTtl: PT-5S (expected: between 10s and 30d)"),
        Arguments.of("CA TTL not longer than SVID TTL",
            args(IDS, H, H, Duration.ZERO, Duration.ZERO, List.of()),
            "caTtl: PT1H (expected: longer than svidTtl PT1H and at most 3650d)"),
        Arguments.of("CA TTL too long",
            args(IDS, H, Duration.ofDays(3651), Duration.ZERO, Duration.ZERO, List.of()),
            "caTtl: PT87624H (expected: longer than svidTtl PT1H and at most 3650d)"),
        Arguments.of("rotation period not shorter than CA TTL",
            args(IDS, H, D, D, Duration.ZERO, List.of()),
            "caRotationPeriod: PT24H (expected: PT0S for never, or at least 10s and shorter than caTtl PT24H)"),
        Arguments.of("rotation period negative",
            args(IDS, H, D, Duration.ofHours(-1), Duration.ZERO, List.of()),
            "caRotationPeriod: PT-1H (expected: PT0S for never, or at least 10s and shorter than caTtl PT24H)"),
        Arguments.of("overlap negative",
            args(IDS, H, D, Duration.ofHours(6), Duration.ofMinutes(-1), List.of()),
            "caOverlap: PT-1M (expected: >= 0)"),
        Arguments.of("overlap longer than rotation period",
            args(IDS, H, D, Duration.ofHours(6), Duration.ofHours(7), List.of()),
            "caOverlap: PT7H (expected: at most caRotationPeriod PT6H)"),
        Arguments.of("old CA would expire during overlap",
            args(IDS, H, D, Duration.ofHours(20), Duration.ofHours(5), List.of()),
            "caOverlap: PT5H (expected: caRotationPeriod PT20H + caOverlap at most caTtl PT24H)"),
        Arguments.of("blank DNS name",
            args(IDS, H, D, Duration.ZERO, Duration.ZERO, List.of("db.example.org", " ")),
            "dnsNames[1]: \" \" (expected: a DNS name such as db.example.org)"),
        Arguments.of("DNS name with a space",
            args(IDS, H, D, Duration.ZERO, Duration.ZERO, List.of("db example")),
            "dnsNames[0]: \"db example\" (expected: a DNS name such as db.example.org)"));
  }

  private static Runnable args(List<SpiffeId> ids, Duration svidTtl, Duration caTtl, Duration rotation,
      Duration overlap, List<String> dns) {
    return () -> new DevCaOptions(TD, ids, svidTtl, caTtl, rotation, overlap, dns);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidOptions")
  void invalidOption_isRejectedWithAMessageNamingIt(String defect, Runnable construct, String message) {
    assertThatThrownBy(construct::run).isInstanceOf(IllegalArgumentException.class).hasMessage(message);
  }

  @Test
  void nullOption_isRejectedWithItsName() {
    assertThatThrownBy(() -> DevCaOptions.of(TD, IDS, null, D, Duration.ZERO, Duration.ZERO))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("svidTtl");
  }
}
