package dev.rotor.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class DurationsTest {

  @ParameterizedTest
  @CsvSource({"500ms,PT0.5S", "90s,PT1M30S", "5m,PT5M", "1h,PT1H", "2d,PT48H", "PT1M,PT1M", "pt10s,PT10S", "0,PT0S"})
  void parse_acceptsOperatorForms(String in, String expected) {
    assertThat(Durations.parse(in)).isEqualTo(Duration.parse(expected));
  }

  @Test
  void parse_rejectsWithTheExpectedForms() {
    assertThatThrownBy(() -> Durations.parse("soon"))
        .isInstanceOf(CommandLine.TypeConversionException.class)
        .hasMessageContaining("\"soon\" is not a duration (expected e.g. 90s, 5m, 1h, 2d or PT1M)");
  }

  @ParameterizedTest
  @CsvSource({"PT1H,1h", "PT90S,90s", "PT2M,2m", "P2D,2d", "PT0.5S,500ms"})
  void format_isShortAndExact(String in, String expected) {
    assertThat(Durations.format(Duration.parse(in))).isEqualTo(expected);
  }
}
