package dev.rotor.demo.backend;

import static java.util.Objects.requireNonNull;

import dev.rotor.demo.http.JsonHttp;
import java.io.IOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend: {@code /health}, {@code /api/orders} and {@code /api/demo} ({@link BackendApi}) on a
 * loopback port that only its Envoy sidecar forwards to, after mTLS and the policy's RBAC.
 */
public final class BackendApp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BackendApp.class);

  /** How often the client certificate file is compared with what the pool connected with. */
  static final Duration CERTIFICATE_CHECK_PERIOD = Duration.ofSeconds(1);

  private final Database database;
  private final CertificateWatch certificateWatch;
  private final JsonHttp http;

  private BackendApp(Database database, CertificateWatch certificateWatch, JsonHttp http) {
    this.database = database;
    this.certificateWatch = certificateWatch;
    this.http = http;
  }

  public static BackendApp start(BackendConfig config) throws IOException {
    requireNonNull(config, "config");
    SvidLifetime.halfLife(config.database().sslCert()).ifPresent(half -> {
      if (config.database().maxLifetime().compareTo(half) >= 0) {
        log.warn("DB_POOL_MAX_LIFETIME {} is not shorter than half the SVID's lifetime ({}): a pooled connection"
            + " that the certificate watch cannot retire (busy for that long) may outlive a rotation",
            config.database().maxLifetime(), half);
      }
    });
    Database database = new Database(config.database());
    CertificateWatch watch = new CertificateWatch(config.database().sslCert(), database::retireConnections)
        .start(CERTIFICATE_CHECK_PERIOD);
    BackendApi api = new BackendApi(database);
    JsonHttp http;
    try {
      http = JsonHttp.start(config.listen(), api.routes());
    } catch (IOException | RuntimeException e) {
      watch.close();
      database.close();
      throw e;
    }
    log.info("backend listening on {}, database {} as {} (pool max lifetime {})", config.listen(),
        config.database().jdbcUrl(), config.database().user(), config.database().maxLifetime());
    api.seedOnce();
    return new BackendApp(database, watch, http);
  }

  /** Stops taking requests, lets those in flight finish, closes the pool. */
  public void stop(Duration grace) {
    http.stop(grace);
    certificateWatch.close();
    database.close();
    log.info("backend stopped");
  }

  @Override
  public void close() {
    stop(Duration.ZERO);
  }
}
