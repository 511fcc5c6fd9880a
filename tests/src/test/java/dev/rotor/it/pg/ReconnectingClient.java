package dev.rotor.it.pg;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Opens a new connection for every query, with the certificate and key in {@code files}. pgjdbc
 * reads the files at every connection, so whether this client follows rotations depends only on
 * which files it is given: the files the writer keeps current (a rotation-aware client), or a copy
 * taken once at start-up (a legacy client that loaded its certificate once, see
 * {@link ClientFiles#snapshotInto}).
 */
public final class ReconnectingClient implements SqlClient {
  private final String name;
  private final PostgresFixture postgres;
  private final Properties properties;

  public ReconnectingClient(String name, PostgresFixture postgres, ClientFiles files) {
    this.name = requireNonNull(name, "name");
    this.postgres = requireNonNull(postgres, "postgres");
    this.properties = PgJdbc.verifyFull(postgres, files, name);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Answer query() throws SQLException {
    try (Connection connection = PgJdbc.connect(postgres, properties)) {
      return SqlClient.ask(connection);
    }
  }

  @Override
  public void close() {
    // Nothing held between queries.
  }
}
