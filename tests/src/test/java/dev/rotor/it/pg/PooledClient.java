package dev.rotor.it.pg;

import static java.util.Objects.requireNonNull;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.rotor.testkit.postgres.ClientFiles;
import dev.rotor.testkit.postgres.PgJdbc;
import dev.rotor.testkit.postgres.PostgresFixture;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * A HikariCP pool of verify-full connections whose certificate and key come from files that a
 * Rotor writer keeps current. A pooled connection keeps the certificate it was made with (the
 * server checks it only in the handshake); {@code maxLifetime} retires connections so that new
 * ones, made with whatever the files hold then, replace them.
 *
 * <p>HikariCP 7 treats a {@code maxLifetime} below 30 s as a mistake and silently (a WARN log)
 * replaces it with 30 minutes, so 30 s is the shortest lifetime that takes effect; the
 * constructor checks the pool kept the value it was given.
 */
public final class PooledClient implements SqlClient {
  /** HikariCP's floor for {@code maxLifetime}; anything lower becomes 30 minutes. */
  public static final Duration SHORTEST_MAX_LIFETIME = Duration.ofSeconds(30);

  private final String name;
  private final HikariDataSource pool;

  public PooledClient(String name, PostgresFixture postgres, ClientFiles files, Duration maxLifetime, int size) {
    this.name = requireNonNull(name, "name");
    if (maxLifetime.compareTo(SHORTEST_MAX_LIFETIME) < 0) {
      throw new IllegalArgumentException("maxLifetime: " + maxLifetime + " (expected: >= "
          + SHORTEST_MAX_LIFETIME + "; HikariCP would replace it with 30 minutes)");
    }
    HikariConfig config = new HikariConfig();
    config.setPoolName(name);
    config.setJdbcUrl(PgJdbc.url(postgres));
    config.setDataSourceProperties(PgJdbc.verifyFull(postgres, files, name));
    config.setMaximumPoolSize(size);
    config.setMinimumIdle(size);
    config.setMaxLifetime(maxLifetime.toMillis());
    config.setConnectionTimeout(Duration.ofSeconds(10).toMillis());
    config.setInitializationFailTimeout(Duration.ofSeconds(10).toMillis());
    this.pool = new HikariDataSource(config);
    if (pool.getMaxLifetime() != maxLifetime.toMillis()) {
      pool.close();
      throw new IllegalStateException("HikariCP changed maxLifetime from " + maxLifetime.toMillis()
          + " ms to " + pool.getMaxLifetime() + " ms");
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Answer query() throws SQLException {
    try (Connection connection = pool.getConnection()) {
      return SqlClient.ask(connection);
    }
  }

  @Override
  public void close() {
    pool.close();
  }
}
