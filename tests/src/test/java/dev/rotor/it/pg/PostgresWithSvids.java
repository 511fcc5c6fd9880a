package dev.rotor.it.pg;

import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN_ID;
import static java.util.Objects.requireNonNull;

import dev.rotor.testkit.TempDirs;
import dev.rotor.testkit.postgres.ClientFiles;
import dev.rotor.testkit.postgres.PgJdbc;
import dev.rotor.testkit.postgres.PostgresFixture;
import dev.rotor.testkit.process.OsUser;
import dev.rotor.testkit.rotor.RotorFileWriter;
import dev.rotor.testkit.spire.SpireFixture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The PostgreSQL pattern with SPIFFE identities, all real: SPIRE issues a server SVID to the
 * {@code postgres} OS user and a client SVID to this test's user; one Rotor file writer, running
 * as {@code postgres}, keeps PostgreSQL's certificate, key and CA files current and sends SIGHUP
 * to the postmaster (PID from {@code postmaster.pid}) after each write; a second Rotor writer
 * keeps the Java client's certificate, PKCS#8 DER key, PKCS#12 keystore and CA files current.
 *
 * <pre>
 *   SPIRE agent ──► Rotor (as postgres) ──► certs/server.pem, server.key, bundle.pem ──SIGHUP──► postmaster
 *               └─► Rotor (as root) ──────► client/svid.pem, svid.pk8, svid.p12, svid_bundle.pem ──► pgjdbc
 * </pre>
 *
 * <p>The server SVID carries the DNS name {@code localhost} (what clients connect to, checked by
 * {@code sslmode=verify-full}); the client SVID carries {@code backend}, which SPIRE also puts into
 * the CN, which {@code pg_ident.conf} maps to the role {@code app}.
 */
public final class PostgresWithSvids implements AutoCloseable {
  public static final String SERVER_ID = TRUST_DOMAIN_ID + "/db/postgres";
  public static final String CLIENT_ID = TRUST_DOMAIN_ID + "/backend";
  public static final String CLIENT_DNS_NAME = "backend";
  public static final PostgresFixture.Settings SETTINGS =
      new PostgresFixture.Settings("appdb", "app", "app-password-is-never-enough", CLIENT_DNS_NAME);

  /** Rotor's default PKCS#12 password (no {@code pkcs12_password_file}): a convention, not a secret. */
  public static final String PKCS12_PASSWORD = "changeit";

  /** JVM start, the agent's 5 s entry sync and the first Workload API answer. */
  private static final Duration FIRST_WRITE_TIMEOUT = Duration.ofSeconds(90);

  private final SpireFixture spire;
  private final PostgresFixture postgres;
  private final Path clientDir;
  private RotorFileWriter serverWriter;
  private RotorFileWriter clientWriter;
  private boolean failed;

  private PostgresWithSvids(SpireFixture spire, PostgresFixture postgres, Path clientDir) {
    this.spire = spire;
    this.postgres = postgres;
    this.clientDir = clientDir;
  }

  /**
   * Registers both identities with {@code spire} (X.509-SVID TTL {@code svidTtl}), starts both
   * writers, waits for their first files and starts PostgreSQL on them.
   */
  public static PostgresWithSvids start(SpireFixture spire, Duration svidTtl) {
    requireNonNull(spire, "spire");
    PostgresFixture postgres = PostgresFixture.create(SETTINGS);
    Path clientDir;
    try {
      clientDir = Files.createTempDirectory(Path.of("/tmp"), "rotor-pgclient-");
      // The writer running as postgres must reach the agent's socket (the socket itself is 0777).
      Files.setPosixFilePermissions(spire.dir(), PosixFilePermissions.fromString("rwx--x--x"));
    } catch (IOException e) {
      postgres.close();
      throw new UncheckedIOException("cannot prepare the client directory", e);
    }
    PostgresWithSvids environment = new PostgresWithSvids(spire, postgres, clientDir);
    try {
      environment.startWriters(svidTtl);
      postgres.start();
      return environment;
    } catch (RuntimeException e) {
      // The exception carries the writers' output; close() prints PostgreSQL's log.
      environment.markFailed();
      environment.close();
      throw e;
    }
  }

  private void startWriters(Duration svidTtl) {
    OsUser postgresUser = postgres.osUser();
    spire.createEntry(SERVER_ID, postgresUser.spireSelectors(), svidTtl, List.of(PgJdbc.HOST));
    spire.createEntry(CLIENT_ID, SpireFixture.currentUidSelectors(), svidTtl, List.of(CLIENT_DNS_NAME));

    Path serverConf = postgres.dir().resolve("helper.conf");
    write(serverConf, serverHelperConf());
    postgresUser.chown(serverConf);
    Path clientConf = clientDir.resolve("helper.conf");
    write(clientConf, clientHelperConf());

    serverWriter = RotorFileWriter.start("rotor-writer-postgres", serverConf, postgres.dir(), postgresUser);
    clientWriter = RotorFileWriter.start("rotor-writer-client", clientConf, clientDir, null);
    serverWriter.awaitFiles(List.of(postgres.serverCertFile(), postgres.serverKeyFile(),
        postgres.serverCaFile()), FIRST_WRITE_TIMEOUT);
    List<Path> clientOutputs = new java.util.ArrayList<>(clientFiles().all());
    clientOutputs.add(clientKeystore());
    clientWriter.awaitFiles(clientOutputs, FIRST_WRITE_TIMEOUT);
  }

  /**
   * spiffe-helper's keys: the writer runs as postgres, so the key file is postgres's with mode
   * 0600, as PostgreSQL demands; after every write it sends SIGHUP to the PID on the first line
   * of postmaster.pid, and PostgreSQL re-reads its SSL files.
   */
  private String serverHelperConf() {
    return String.join("\n",
        "# Rotor file writer for PostgreSQL's server certificate (dev.rotor.it.pg.PostgresWithSvids)",
        "agent_address = \"" + spire.agentSocketUri() + "\"",
        "cert_dir = \"" + postgres.certDir() + "\"",
        "svid_file_name = \"" + postgres.serverCertFile().getFileName() + "\"",
        "svid_key_file_name = \"" + postgres.serverKeyFile().getFileName() + "\"",
        "svid_bundle_file_name = \"" + postgres.serverCaFile().getFileName() + "\"",
        "cert_file_mode = 0644",
        "key_file_mode = 0600",
        "renew_signal = \"SIGHUP\"",
        "pid_file_name = \"" + postgres.postmasterPidFile() + "\"",
        "");
  }

  /**
   * The client's files, plus the key as PKCS#8 DER and a PKCS#12 keystore (key and chain in one
   * file, password {@value #PKCS12_PASSWORD}), the two forms pgjdbc reads without a callback.
   */
  private String clientHelperConf() {
    return String.join("\n",
        "# Rotor file writer for the Java client's certificate (dev.rotor.it.pg.PostgresWithSvids)",
        "agent_address = \"" + spire.agentSocketUri() + "\"",
        "cert_dir = \"" + clientDir + "\"",
        "svid_file_name = \"svid.pem\"",
        "svid_key_file_name = \"svid_key.pem\"",
        "svid_bundle_file_name = \"svid_bundle.pem\"",
        "pkcs8_der_key_file_name = \"svid.pk8\"",
        "pkcs12_file_name = \"svid.p12\"",
        "cert_file_mode = 0644",
        "key_file_mode = 0600",
        "");
  }

  public PostgresFixture postgres() {
    return postgres;
  }

  /** The files the client writer keeps current. */
  public ClientFiles clientFiles() {
    return new ClientFiles(clientDir.resolve("svid.pem"), clientDir.resolve("svid.pk8"),
        clientDir.resolve("svid_bundle.pem"));
  }

  /**
   * The client's files inside the version directory that {@code ..data} points to now, resolved
   * once: Rotor publishes each version in a directory of its own that never changes afterwards
   * and switches {@code ..data} with one rename (docs/file-writer.md, "The rule for readers"), so
   * certificate and key read from here belong together even when a rotation happens between the
   * two opens, which pgjdbc does during every handshake.
   */
  public ClientFiles clientFilesOfCurrentVersion() {
    Path version;
    try {
      version = clientDir.resolve("..data").toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve " + clientDir.resolve("..data")
          + " (expected: the symlink to Rotor's current version directory)", e);
    }
    ClientFiles names = clientFiles();
    return new ClientFiles(version.resolve(names.cert().getFileName()),
        version.resolve(names.key().getFileName()), version.resolve(names.ca().getFileName()));
  }

  /**
   * The client's PKCS#12 keystore (key and chain under one name, written with one rename), for
   * {@link PgJdbc#verifyFullWithKeystore}.
   */
  public Path clientKeystore() {
    return clientDir.resolve("svid.p12");
  }

  /** A directory of this environment's own, for client-side copies and outputs. */
  public Path scratchDir(String name) {
    Path dir = clientDir.resolve(name);
    try {
      return Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
  }

  /** Throws, with their output, if either writer has exited. */
  public void checkWritersAlive(String whileDoing) {
    serverWriter.checkAlive(whileDoing);
    clientWriter.checkAlive(whileDoing);
  }

  /** The ends of both writers' output and of PostgreSQL's log. */
  public String describe() {
    StringBuilder out = new StringBuilder();
    if (serverWriter != null) {
      out.append(serverWriter.describe());
    }
    if (clientWriter != null) {
      out.append(clientWriter.describe());
    }
    return out.append(postgres.describe()).toString();
  }

  /** Makes {@link #close} keep the directories (and PostgreSQL's print its log). */
  public void markFailed() {
    failed = true;
    postgres.markFailed();
  }

  @Override
  public void close() {
    for (RotorFileWriter writer : new RotorFileWriter[] {serverWriter, clientWriter}) {
      if (writer != null) {
        writer.close();
      }
    }
    postgres.close();
    if (failed) {
      System.err.println("client directory kept for inspection: " + clientDir);
    } else {
      TempDirs.deleteQuietly(clientDir);
    }
  }

  private static void write(Path file, String text) {
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
