package dev.rotor.demo.backend;

import static java.util.Objects.requireNonNull;

import dev.rotor.demo.config.HostPort;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;

/**
 * How the backend reaches PostgreSQL: over TLS with its SVID only ({@code sslmode=verify-full},
 * no password), from the files its Rotor sidecar writes and replaces on every rotation.
 *
 * @param server PostgreSQL's host:port; the host must be a DNS SAN of PostgreSQL's SVID (verify-full)
 * @param sslCert the SVID chain, PEM (helper.conf {@code svid_file_name})
 * @param sslKey the SVID's key as PKCS#8 DER, what pgjdbc reads without a password ({@code pkcs8_der_key_file_name})
 * @param sslRootCert the trust bundle, PEM ({@code svid_bundle_file_name})
 * @param maxLifetime how long a pooled connection lives: shorter than half the SVID's lifetime, so
 *     new connections (which re-read the files) replace the old ones within one rotation
 */
public record DatabaseConfig(
    HostPort server,
    String database,
    String user,
    Path sslCert,
    Path sslKey,
    Path sslRootCert,
    int poolSize,
    Duration maxLifetime,
    Duration connectTimeout) {

  public DatabaseConfig {
    requireNonNull(server, "server");
    requireNonNull(database, "database");
    requireNonNull(user, "user");
    requireNonNull(sslCert, "sslCert");
    requireNonNull(sslKey, "sslKey");
    requireNonNull(sslRootCert, "sslRootCert");
    requireNonNull(maxLifetime, "maxLifetime");
    requireNonNull(connectTimeout, "connectTimeout");
  }

  public String jdbcUrl() {
    return "jdbc:postgresql://" + server.host() + ":" + server.port() + "/" + database;
  }

  /**
   * pgjdbc's connection properties. pgjdbc builds a new SSLContext from these files for every new
   * connection, so a replaced file is picked up by the next connection the pool opens.
   */
  public Properties jdbcProperties() {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("ssl", "true");
    p.setProperty("sslmode", "verify-full");
    p.setProperty("sslcert", sslCert.toString());
    p.setProperty("sslkey", sslKey.toString());
    p.setProperty("sslrootcert", sslRootCert.toString());
    p.setProperty("ApplicationName", "rotor-demo-backend");
    p.setProperty("connectTimeout", Long.toString(Math.max(1, connectTimeout.toSeconds())));
    return p;
  }
}
