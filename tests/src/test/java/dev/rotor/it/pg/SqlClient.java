package dev.rotor.it.pg;

import java.math.BigInteger;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A database client of the tests: runs one small query per call and reports which client
 * certificate PostgreSQL saw on the connection ({@code pg_stat_ssl.client_serial}), so a test can
 * tell which certificate generation a connection was made with.
 */
public interface SqlClient extends AutoCloseable {
  /** What PostgreSQL said about the connection a query ran on. */
  record Answer(String user, BigInteger clientSerial) {}

  String QUERY = "SELECT current_user, client_serial FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

  String name();

  Answer query() throws SQLException;

  @Override
  void close();

  /** Runs {@link #QUERY} on {@code connection}. */
  static Answer ask(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery(QUERY)) {
      if (!row.next()) {
        throw new SQLException("pg_stat_ssl has no row for this backend (not a TLS connection?)");
      }
      return new Answer(row.getString(1), row.getBigDecimal(2).toBigIntegerExact());
    }
  }
}
