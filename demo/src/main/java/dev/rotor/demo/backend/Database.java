package dev.rotor.demo.backend;

import static java.util.Objects.requireNonNull;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend's connection pool and its three queries. The pool opens connections lazily and
 * keeps trying, so the backend starts (and answers /health) while PostgreSQL or the certificate
 * files are not there yet; /api/* then report the database error.
 */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);

  private static final String CREATE = "CREATE TABLE IF NOT EXISTS orders ("
      + "id bigserial PRIMARY KEY, item text NOT NULL, quantity integer NOT NULL CHECK (quantity > 0),"
      + " customer text NOT NULL)";
  private static final String SEED = "INSERT INTO orders (item, quantity, customer)"
      + " SELECT * FROM (VALUES ('rotor blade', 3, 'ada'), ('sidecar', 1, 'grace'), ('trust bundle', 2, 'linus'))"
      + " AS seed(item, quantity, customer) WHERE NOT EXISTS (SELECT 1 FROM orders)";
  private static final String ORDERS = "SELECT id, item, quantity, customer FROM orders ORDER BY id";
  private static final String IDENTITY = "SELECT current_user, s.ssl, s.version, s.client_dn, s.client_serial::text"
      + " FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()";

  private final HikariDataSource pool;

  public Database(DatabaseConfig config) {
    requireNonNull(config, "config");
    HikariConfig hc = new HikariConfig();
    hc.setPoolName("orders-db");
    hc.setJdbcUrl(config.jdbcUrl());
    hc.setDataSourceProperties(config.jdbcProperties());
    hc.setMaximumPoolSize(config.poolSize());
    hc.setMinimumIdle(1);
    hc.setMaxLifetime(config.maxLifetime().toMillis());
    hc.setConnectionTimeout(config.connectTimeout().toMillis());
    // Start even when the first connection fails: the files or PostgreSQL may come a moment later.
    hc.setInitializationFailTimeout(-1);
    this.pool = new HikariDataSource(hc);
  }

  /** Creates the table and the three demo orders, once; safe to run on every start and by every replica. */
  public void seed() throws SQLException {
    try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
      s.execute(CREATE);
      int inserted = s.executeUpdate(SEED);
      if (inserted > 0) {
        log.info("seeded the orders table with {} rows", inserted);
      }
    }
  }

  public List<Order> orders() throws SQLException {
    try (Connection c = pool.getConnection(); PreparedStatement s = c.prepareStatement(ORDERS);
        ResultSet rs = s.executeQuery()) {
      List<Order> out = new ArrayList<>();
      while (rs.next()) {
        out.add(new Order(rs.getLong(1), rs.getString(2), rs.getInt(3), rs.getString(4)));
      }
      return out;
    }
  }

  public DatabaseIdentity identity() throws SQLException {
    try (Connection c = pool.getConnection(); PreparedStatement s = c.prepareStatement(IDENTITY);
        ResultSet rs = s.executeQuery()) {
      if (!rs.next()) {
        throw new SQLException("pg_stat_ssl has no row for this session");
      }
      return new DatabaseIdentity(rs.getString(1), rs.getBoolean(2), rs.getString(3), rs.getString(4),
          rs.getString(5));
    }
  }

  /**
   * Retires every pooled connection (soft eviction: idle ones close now, busy ones when they are
   * returned), so the next query connects anew, with whatever certificate the files hold then.
   */
  public void retireConnections() {
    pool.getHikariPoolMXBean().softEvictConnections();
  }

  @Override
  public void close() {
    pool.close();
  }
}
