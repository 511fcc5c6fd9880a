package dev.rotor.demo.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.demo.config.ConfigException;
import dev.rotor.demo.config.Env;
import dev.rotor.demo.config.HostPort;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BackendConfigTest {
  /** What deploy/kustomize's backend Deployment sets. */
  static Map<String, String> deployed() {
    Map<String, String> env = new HashMap<>();
    env.put("DB_SERVER", "postgres.demo.svc.cluster.local:5432");
    env.put("DB_SSL_CERT", "/run/db-tls/svid.pem");
    env.put("DB_SSL_KEY", "/run/db-tls/svid_key.pk8");
    env.put("DB_SSL_ROOT_CERT", "/run/db-tls/bundle.pem");
    env.put("DB_POOL_MAX_LIFETIME", "50s");
    return env;
  }

  @Test
  void deployedSettings_parse_withDefaultsForTheRest() {
    BackendConfig c = BackendConfig.fromEnv(new Env(deployed()));

    assertThat(c.listen()).isEqualTo(new HostPort("127.0.0.1", 9090));
    assertThat(c.database().jdbcUrl()).isEqualTo("jdbc:postgresql://postgres.demo.svc.cluster.local:5432/demo");
    assertThat(c.database().user()).isEqualTo("backend");
    assertThat(c.database().maxLifetime()).isEqualTo(Duration.ofSeconds(50));
    assertThat(c.database().sslKey()).isEqualTo(Path.of("/run/db-tls/svid_key.pk8"));
    assertThat(c.database().jdbcProperties())
        .containsEntry("sslmode", "verify-full")
        .containsEntry("sslcert", "/run/db-tls/svid.pem")
        .containsEntry("sslkey", "/run/db-tls/svid_key.pk8")
        .containsEntry("sslrootcert", "/run/db-tls/bundle.pem")
        .doesNotContainKey("password");
  }

  @Test
  void nothingSet_reportsEveryRequiredVariableAtOnce() {
    assertThatThrownBy(() -> BackendConfig.fromEnv(new Env(Map.of())))
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems()).containsExactly(
            "DB_SERVER: not set (expected host:port, e.g. postgres.demo.svc.cluster.local:5432)",
            "DB_SSL_CERT: not set (expected an absolute path to a file the Rotor sidecar writes (the SVID chain, PEM))",
            "DB_SSL_KEY: not set (expected an absolute path to a file the Rotor sidecar writes (the SVID key,"
                + " PKCS#8 DER, e.g. /run/db-tls/svid_key.pk8))",
            "DB_SSL_ROOT_CERT: not set (expected an absolute path to a file the Rotor sidecar writes (the trust"
                + " bundle, PEM))"));
  }

  @Test
  void pemKey_isRefused_becausePgjdbcWantsPkcs8Der() {
    Map<String, String> env = deployed();
    env.put("DB_SSL_KEY", "/run/db-tls/svid_key.pem");

    assertThatThrownBy(() -> BackendConfig.fromEnv(new Env(env))).hasMessageContaining("pkcs8_der_key_file_name");
  }

  @Test
  void relativePath_isRefused() {
    Map<String, String> env = deployed();
    env.put("DB_SSL_CERT", "svid.pem");

    assertThatThrownBy(() -> BackendConfig.fromEnv(new Env(env)))
        .hasMessageStartingWith("DB_SSL_CERT: \"svid.pem\" is not an absolute path");
  }

  @Test
  void poolLifetimeUnderHikarisFloor_isRefused() {
    Map<String, String> env = deployed();
    env.put("DB_POOL_MAX_LIFETIME", "10s");

    assertThatThrownBy(() -> BackendConfig.fromEnv(new Env(env)))
        .hasMessage("DB_POOL_MAX_LIFETIME: 10s is too short (expected at least 30s)");
  }
}
