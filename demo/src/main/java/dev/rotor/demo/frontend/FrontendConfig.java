package dev.rotor.demo.frontend;

import static java.util.Objects.requireNonNull;

import dev.rotor.demo.config.Env;
import dev.rotor.demo.config.HostPort;
import java.net.URI;
import java.time.Duration;

/**
 * The frontend's settings, from environment variables (demo/README.md lists them).
 *
 * @param listen where {@code /} (the latest result) and {@code /healthz} are served
 * @param backendUrl what is called: the frontend's own Envoy outbound listener, plain HTTP on
 *     loopback; Envoy adds mTLS to the backend and checks the backend's SPIFFE ID
 * @param interval time between the starts of two calls
 * @param timeout how long one call may take; shorter than {@code interval}, so calls never pile up
 */
public record FrontendConfig(HostPort listen, URI backendUrl, Duration interval, Duration timeout) {

  public FrontendConfig {
    requireNonNull(listen, "listen");
    requireNonNull(backendUrl, "backendUrl");
    requireNonNull(interval, "interval");
    requireNonNull(timeout, "timeout");
  }

  /** @throws dev.rotor.demo.config.ConfigException naming every bad variable */
  public static FrontendConfig fromEnv(Env env) {
    HostPort listen = env.hostPort("FRONTEND_LISTEN", new HostPort("0.0.0.0", 8080));
    URI backend = env.httpUrl("BACKEND_URL", URI.create("http://127.0.0.1:9001/api/demo"));
    Duration interval = env.duration("CALL_INTERVAL", Duration.ofSeconds(1), Duration.ofMillis(10));
    Duration timeout = env.duration("CALL_TIMEOUT", Duration.ofMillis(900), Duration.ofMillis(10));
    if (timeout.compareTo(interval) > 0) {
      env.problem("CALL_TIMEOUT: " + timeout.toMillis() + "ms is longer than CALL_INTERVAL " + interval.toMillis()
          + "ms (expected at most the interval, so one slow call cannot delay the next)");
    }
    env.check();
    return new FrontendConfig(listen, backend, interval, timeout);
  }
}
