package dev.rotor.demo.frontend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.demo.config.ConfigException;
import dev.rotor.demo.config.Env;
import dev.rotor.demo.config.HostPort;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FrontendConfigTest {

  @Test
  void defaults_callTheLocalEnvoyOncePerSecond() {
    FrontendConfig c = FrontendConfig.fromEnv(new Env(Map.of()));

    assertThat(c.backendUrl()).isEqualTo(URI.create("http://127.0.0.1:9001/api/demo"));
    assertThat(c.interval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(c.timeout()).isLessThanOrEqualTo(c.interval());
    assertThat(c.listen()).isEqualTo(new HostPort("0.0.0.0", 8080));
  }

  @Test
  void timeoutLongerThanInterval_isRefused() {
    assertThatThrownBy(() -> FrontendConfig.fromEnv(new Env(Map.of("CALL_INTERVAL", "1s", "CALL_TIMEOUT", "2s"))))
        .hasMessage("CALL_TIMEOUT: 2000ms is longer than CALL_INTERVAL 1000ms (expected at most the interval,"
            + " so one slow call cannot delay the next)");
  }

  @Test
  void severalMistakes_areAllReported() {
    assertThatThrownBy(() -> FrontendConfig.fromEnv(new Env(Map.of(
        "FRONTEND_LISTEN", "8080", "BACKEND_URL", "ftp://x/", "CALL_INTERVAL", "often"))))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).hasSize(3)
            .anySatisfy(p -> assertThat(p).startsWith("FRONTEND_LISTEN: "))
            .anySatisfy(p -> assertThat(p).startsWith("BACKEND_URL: "))
            .anySatisfy(p -> assertThat(p).startsWith("CALL_INTERVAL: ")));
  }
}
