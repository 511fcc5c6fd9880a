package dev.rotor.testkit.postgres;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.regex.Pattern;

/**
 * What a {@link PostgresFixture} cluster is made of, apart from its place and port: the database
 * and role clients use, its client authentication ({@code pg_hba.conf}, {@code pg_ident.conf}),
 * the statements run once in single-user mode before the first start, and the names of its TLS
 * files in {@link PostgresFixture#certDir()} (what the server's file writer writes).
 *
 * <p>Two kinds exist: the tests' own ({@link #certificateOnly}), and the demo's, read from the
 * files the Kubernetes demo mounts (built by the local demo stack).
 *
 * @param bootstrapStatements single-user mode reads one statement per line: no statement may span
 *     lines; comment lines ({@code --}) are allowed
 */
public record PostgresSetup(String database, String role, String hbaConf, String identConf,
    List<String> bootstrapStatements, TlsFileNames tlsFiles) {

  private static final Pattern SQL_NAME = Pattern.compile("[a-z_][a-z0-9_]*");

  /** The server's certificate chain, key and CA bundle, as file names inside the cert directory. */
  public record TlsFileNames(String cert, String key, String ca) {
    public TlsFileNames {
      for (String name : new String[] {cert, key, ca}) {
        if (name == null || name.isBlank() || name.contains("/")) {
          throw new IllegalArgumentException("TLS file name: " + name + " (expected: a plain file name)");
        }
      }
    }
  }

  public PostgresSetup {
    requireSqlName(database, "database");
    requireSqlName(role, "role");
    requireNonNull(hbaConf, "hbaConf");
    requireNonNull(identConf, "identConf");
    bootstrapStatements = List.copyOf(bootstrapStatements);
    for (String statement : bootstrapStatements) {
      if (statement.contains("\n")) {
        throw new IllegalArgumentException("bootstrap statement spans lines: " + statement
            + " (expected: one statement per line, as single-user mode reads them)");
      }
    }
    requireNonNull(tlsFiles, "tlsFiles");
  }

  /**
   * The tests' cluster: TLS with a verified client certificate whose CN map {@code spiffe} takes
   * to the role is the only way in (no local socket access, no password method, no plain TCP).
   * The role is given a password on purpose: the tests show that even the right password does
   * not get a connection in.
   */
  public static PostgresSetup certificateOnly(PostgresFixture.Settings settings) {
    requireNonNull(settings, "settings");
    return new PostgresSetup(settings.database(), settings.role(),
        String.join("\n",
            "# Written by dev.rotor.testkit.postgres.PostgresSetup: TLS with a verified client certificate,",
            "# mapped through pg_ident.conf map 'spiffe', is the only way in. No local socket access,",
            "# no password method, no plain TCP.",
            "# TYPE   DATABASE USER ADDRESS      METHOD",
            "hostssl  all      all  127.0.0.1/32 cert clientcert=verify-full map=spiffe",
            ""),
        String.join("\n",
            "# Written by dev.rotor.testkit.postgres.PostgresSetup: SPIRE puts an entry's first DNS name into",
            "# the SVID's CN; PostgreSQL's cert method matches the CN (it cannot match a URI SAN).",
            "# MAPNAME SYSTEM-USERNAME PG-USERNAME",
            "spiffe    " + settings.clientCommonName() + "    " + settings.role(),
            ""),
        List.of("CREATE ROLE " + settings.role() + " LOGIN PASSWORD '" + settings.rolePassword() + "'",
            "CREATE DATABASE " + settings.database() + " OWNER " + settings.role()),
        new TlsFileNames("server.pem", "server.key", "bundle.pem"));
  }

  static void requireSqlName(String value, String what) {
    if (value == null || !SQL_NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(what + ": " + value
          + " (expected: a lower-case SQL identifier, " + SQL_NAME + ")");
    }
  }
}
