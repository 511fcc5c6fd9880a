package dev.rotor.demo.frontend;

import static java.util.Objects.requireNonNull;

import dev.rotor.demo.http.JsonHttp;
import dev.rotor.demo.http.JsonHttp.Response;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The frontend: the call loop, and {@code /} with the latest result and the counts. */
public final class FrontendApp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FrontendApp.class);

  private final FrontendLoop loop;
  private final JsonHttp http;

  private FrontendApp(FrontendLoop loop, JsonHttp http) {
    this.loop = loop;
    this.http = http;
  }

  public static FrontendApp start(FrontendConfig config) throws IOException {
    requireNonNull(config, "config");
    FrontendLoop loop = new FrontendLoop(new BackendCaller(config.backendUrl(), config.timeout(), Clock.systemUTC()),
        new CallLog(), Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "backend-calls")),
        config.interval());
    Map<String, JsonHttp.Handler> routes = Map.of(
        "/", exchange -> Response.ok(status(config, loop)),
        "/healthz", exchange -> Response.ok(Map.of("status", "ok")));
    JsonHttp http = JsonHttp.start(config.listen(), routes);
    log.info("frontend listening on {}, calling {} every {}ms", config.listen(), config.backendUrl(),
        config.interval().toMillis());
    loop.start();
    return new FrontendApp(loop, http);
  }

  static Map<String, Object> status(FrontendConfig config, FrontendLoop loop) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("backend", config.backendUrl().toString());
    body.put("successes", loop.successes());
    body.put("failures", loop.failures());
    body.put("latest", loop.latest().orElse(null));
    return body;
  }

  public void stop(Duration grace) throws InterruptedException {
    loop.stop(grace);
    http.stop(grace);
    log.info("frontend stopped after {} successful and {} failed calls", loop.successes(), loop.failures());
  }

  @Override
  public void close() throws InterruptedException {
    stop(Duration.ZERO);
  }
}
