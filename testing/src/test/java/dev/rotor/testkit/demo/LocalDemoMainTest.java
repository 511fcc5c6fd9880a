package dev.rotor.testkit.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalDemoMainTest {
  @Test
  void defaults_areAOneMinuteSvid_aThreeMinuteCa_andNoTimeLimit() {
    LocalDemoMain.Arguments a = LocalDemoMain.parse(List.of());

    assertThat(a.svidTtl()).isEqualTo(Duration.ofSeconds(60));
    assertThat(a.caTtl()).isEqualTo(Duration.ofMinutes(3));
    assertThat(a.duration()).isZero();
    assertThat(a.check()).isFalse();
  }

  @Test
  void flags_setTheirValues() {
    LocalDemoMain.Arguments a = LocalDemoMain.parse(List.of("--svid-ttl", "45s", "--ca-ttl", "5m", "--duration", "90s",
        "--call-interval", "500ms", "--envoy", "1.36.4", "--quiet", "--check"));

    assertThat(a.svidTtl()).isEqualTo(Duration.ofSeconds(45));
    assertThat(a.caTtl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(a.duration()).isEqualTo(Duration.ofSeconds(90));
    assertThat(a.callInterval()).isEqualTo(Duration.ofMillis(500));
    assertThat(a.envoyVersion()).isEqualTo("1.36.4");
    assertThat(a.quiet()).isTrue();
    assertThat(a.check()).isTrue();
  }

  @Test
  void aBadDuration_anUnknownFlag_andAMissingValue_areRefusedByName() {
    assertThatThrownBy(() -> LocalDemoMain.parse(List.of("--svid-ttl", "1h")))
        .hasMessage("--svid-ttl \"1h\" (expected a duration such as 500ms, 45s, 3m)");
    assertThatThrownBy(() -> LocalDemoMain.parse(List.of("--ttl", "1m"))).hasMessage("unknown argument \"--ttl\"");
    assertThatThrownBy(() -> LocalDemoMain.parse(List.of("--duration"))).hasMessage("--duration needs a value");
  }

  @Test
  void theConnectionBound_isAQuarterOfTheShortestSvid_andNeverUnderTheTenSecondsThePolicyAllows() {
    assertThat(options(Duration.ofMinutes(2), Duration.ofHours(24)).maxConnectionDuration()).isEqualTo(Duration.ofSeconds(30));
    assertThat(options(Duration.ofSeconds(60), Duration.ofMinutes(6)).maxConnectionDuration())
        .isEqualTo(Duration.ofSeconds(15));
    // A 3-minute CA cuts SVIDs short to 30 s near its end.
    assertThat(options(Duration.ofSeconds(60), Duration.ofMinutes(3)).shortestSvid()).isEqualTo(Duration.ofSeconds(30));
    assertThat(options(Duration.ofSeconds(60), Duration.ofMinutes(3)).maxConnectionDuration())
        .isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void svidsThatLiveUnderThirtySeconds_areRefused_theBoundWouldNotFit() {
    assertThatThrownBy(() -> options(Duration.ofSeconds(20), Duration.ofMinutes(3))).hasMessageContaining("svidTtl 20s");
    assertThatThrownBy(() -> options(Duration.ofSeconds(60), Duration.ofMinutes(2))).hasMessageContaining("caTtl 120s");
  }

  private static LocalDemoStack.Options options(Duration svidTtl, Duration caTtl) {
    return new LocalDemoStack.Options(svidTtl, caTtl, Duration.ofSeconds(1), "1.40.0");
  }
}
