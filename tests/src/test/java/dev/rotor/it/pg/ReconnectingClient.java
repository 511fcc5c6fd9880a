package dev.rotor.it.pg;

import static java.util.Objects.requireNonNull;

import dev.rotor.testkit.postgres.ClientFiles;
import dev.rotor.testkit.postgres.PgJdbc;
import dev.rotor.testkit.postgres.PostgresFixture;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;
import java.util.function.Supplier;

/**
 * Opens a new connection for every query. pgjdbc reads the certificate and key files at every
 * connection, so whether this client follows rotations depends only on which files it is given:
 * a copy taken once at start-up (a legacy client that loaded its certificate once, see
 * {@link ClientFiles#snapshotInto}), or the files the writer keeps current.
 */
public final class ReconnectingClient implements SqlClient {
  private final String name;
  private final PostgresFixture postgres;
  private final Supplier<Properties> properties;

  /** A client that connects with the same files every time. */
  public ReconnectingClient(String name, PostgresFixture postgres, ClientFiles files) {
    this(name, postgres, () -> PgJdbc.verifyFull(postgres, files, name));
  }

  /** A client that asks {@code properties} (see {@link PgJdbc}) before every connection. */
  public ReconnectingClient(String name, PostgresFixture postgres, Supplier<Properties> properties) {
    this.name = requireNonNull(name, "name");
    this.postgres = requireNonNull(postgres, "postgres");
    this.properties = requireNonNull(properties, "properties");
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Answer query() throws SQLException {
    try (Connection connection = PgJdbc.connect(postgres, properties.get())) {
      return SqlClient.ask(connection);
    }
  }

  @Override
  public void close() {
    // Nothing held between queries.
  }
}
