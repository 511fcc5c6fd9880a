package dev.rotor.testkit.postgres;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/** pgjdbc connection settings for the {@link PostgresFixture}. */
public final class PgJdbc {
  /**
   * The host name clients use. The server's SVID carries it as a DNS SAN, so pgjdbc's
   * {@code verify-full} host-name check passes; the fixture listens on 127.0.0.1, which is what
   * {@code localhost} resolves to first.
   */
  public static final String HOST = "localhost";

  private static final String CONNECT_TIMEOUT_SECONDS = "5";
  private static final String SOCKET_TIMEOUT_SECONDS = "15";

  private PgJdbc() {}

  public static String url(PostgresFixture postgres) {
    return "jdbc:postgresql://" + HOST + ":" + postgres.port() + "/" + postgres.setup().database();
  }

  /**
   * TLS with full verification of the server (chain to {@code files.ca()}, host name) and the
   * client certificate and key from {@code files}; no password. pgjdbc reads the three files
   * afresh for every new connection.
   */
  public static Properties verifyFull(PostgresFixture postgres, ClientFiles files, String applicationName) {
    Properties properties = base(postgres, applicationName);
    properties.setProperty("sslmode", "verify-full");
    properties.setProperty("sslcert", files.cert().toString());
    properties.setProperty("sslkey", files.key().toString());
    properties.setProperty("sslrootcert", files.ca().toString());
    return properties;
  }

  /**
   * Like {@link #verifyFull}, with the client's key and certificate chain from one PKCS#12
   * keystore: a reader of one file cannot pair a certificate with the wrong key, whenever it reads.
   */
  public static Properties verifyFullWithKeystore(PostgresFixture postgres, Path keystore, String password,
      Path ca, String applicationName) {
    Properties properties = base(postgres, applicationName);
    properties.setProperty("sslmode", "verify-full");
    properties.setProperty("sslkey", keystore.toString());
    properties.setProperty("sslpassword", password);
    properties.setProperty("sslrootcert", ca.toString());
    return properties;
  }

  /** Connection settings with no TLS settings yet: user, timeouts, application name. */
  public static Properties base(PostgresFixture postgres, String applicationName) {
    Properties properties = new Properties();
    properties.setProperty("user", postgres.setup().role());
    properties.setProperty("connectTimeout", CONNECT_TIMEOUT_SECONDS);
    properties.setProperty("loginTimeout", CONNECT_TIMEOUT_SECONDS);
    properties.setProperty("socketTimeout", SOCKET_TIMEOUT_SECONDS);
    properties.setProperty("ApplicationName", applicationName);
    // pgjdbc's default gssencmode=allow would try GSSAPI first where a ticket cache exists.
    properties.setProperty("gssEncMode", "disable");
    return properties;
  }

  public static Connection connect(PostgresFixture postgres, Properties properties) throws SQLException {
    return DriverManager.getConnection(url(postgres), properties);
  }
}
