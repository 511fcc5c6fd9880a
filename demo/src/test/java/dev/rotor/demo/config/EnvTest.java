package dev.rotor.demo.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class EnvTest {

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({"250ms, PT0.25S", "45s, PT45S", "5m, PT5M", "1h, PT1H", "30S, PT30S"})
  void duration_acceptsTheDocumentedForms(String text, Duration expected) {
    Env env = new Env(Map.of("D", text));

    assertThat(env.duration("D", Duration.ZERO, Duration.ZERO)).isEqualTo(expected);
    env.check();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "1.5s  | \"1.5s\" is not a duration (expected e.g. 500ms, 45s, 5m or 1h)",
      "PT5S  | \"PT5S\" is not a duration",
      "10    | \"10\" is not a duration",
      "-1s   | \"-1s\" is not a duration",
      "5s    | 5s is too short (expected at least 30s)",
  })
  void duration_badValue_namesVariableValueAndExpectation(String text, String expected) {
    Env env = new Env(Map.of("DB_POOL_MAX_LIFETIME", text));
    env.duration("DB_POOL_MAX_LIFETIME", Duration.ofMinutes(5), Duration.ofSeconds(30));

    assertThatThrownBy(env::check).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("DB_POOL_MAX_LIFETIME: " + expected);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "9090             | \"9090\" is not host:port (expected e.g. 127.0.0.1:9090)",
      "localhost:       | \"localhost:\" is not host:port",
      "localhost:http   | port \"http\" is not a number",
      "localhost:70000  | port 70000 is out of range",
  })
  void hostPort_badValue_isExplained(String text, String expected) {
    Env env = new Env(Map.of("LISTEN", text));
    env.hostPort("LISTEN", new HostPort("127.0.0.1", 1));

    assertThatThrownBy(env::check).hasMessageStartingWith("LISTEN: ").hasMessageContaining(expected);
  }

  @Test
  void integer_outOfRange_isExplained() {
    Env env = new Env(Map.of("N", "0"));
    env.integer("N", 2, 1, 50);

    assertThatThrownBy(env::check).hasMessage("N: 0 is out of range (expected 1..50)");
  }

  @Test
  void unsetAndBlank_giveTheDefault() {
    Env env = new Env(Map.of("BLANK", "  "));

    assertThat(env.string("BLANK", "d")).isEqualTo("d");
    assertThat(env.integer("UNSET", 7, 1, 9)).isEqualTo(7);
    env.check();
  }

  @Test
  void httpUrl_refusesHttps_becauseTlsIsEnvoysJob() {
    Env env = new Env(Map.of("BACKEND_URL", "https://backend:8080/api/demo"));
    env.httpUrl("BACKEND_URL", null);

    assertThatThrownBy(env::check).hasMessageContaining("TLS is Envoy's job");
  }
}
