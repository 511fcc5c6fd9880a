package dev.rotor.demo.backend;

import static java.util.Objects.requireNonNull;

import dev.rotor.demo.config.Env;
import dev.rotor.demo.config.HostPort;
import java.time.Duration;

/**
 * The backend's settings, from environment variables (demo/README.md lists them).
 *
 * @param listen where the HTTP API listens: loopback, so only the pod's own Envoy reaches it
 */
public record BackendConfig(HostPort listen, DatabaseConfig database) {
  /** HikariCP refuses a maxLifetime under 30 s. */
  static final Duration MIN_MAX_LIFETIME = Duration.ofSeconds(30);

  public BackendConfig {
    requireNonNull(listen, "listen");
    requireNonNull(database, "database");
  }

  /** @throws dev.rotor.demo.config.ConfigException naming every bad or missing variable */
  public static BackendConfig fromEnv(Env env) {
    HostPort listen = env.hostPort("BACKEND_LISTEN", new HostPort("127.0.0.1", 9090));
    String files = "an absolute path to a file the Rotor sidecar writes";
    DatabaseConfig db = new DatabaseConfig(
        env.requiredHostPort("DB_SERVER"),
        env.string("DB_NAME", "demo"),
        env.string("DB_USER", "backend"),
        env.requiredAbsolutePath("DB_SSL_CERT", files + " (the SVID chain, PEM)"),
        env.requiredAbsolutePath("DB_SSL_KEY", files + " (the SVID key, PKCS#8 DER, e.g. /run/db-tls/svid_key.pk8)"),
        env.requiredAbsolutePath("DB_SSL_ROOT_CERT", files + " (the trust bundle, PEM)"),
        env.integer("DB_POOL_SIZE", 2, 1, 50),
        env.duration("DB_POOL_MAX_LIFETIME", Duration.ofMinutes(5), MIN_MAX_LIFETIME),
        env.duration("DB_CONNECT_TIMEOUT", Duration.ofSeconds(5), Duration.ofSeconds(1)));
    if (db.sslKey().toString().endsWith(".pem")) {
      env.problem("DB_SSL_KEY: \"" + db.sslKey() + "\" looks like a PEM key (expected the PKCS#8 DER file, .pk8,"
          + " which pgjdbc reads without a password: helper.conf pkcs8_der_key_file_name)");
    }
    env.check();
    return new BackendConfig(listen, db);
  }
}
