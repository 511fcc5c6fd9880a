package dev.rotor.testkit.postgres;

import static java.util.Objects.requireNonNull;
import static org.awaitility.Awaitility.await;

import dev.rotor.testkit.Ports;
import dev.rotor.testkit.TempDirs;
import dev.rotor.testkit.process.ManagedProcess;
import dev.rotor.testkit.process.OsUser;
import dev.rotor.testkit.process.ShortCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A throw-away PostgreSQL 15 cluster (Debian's {@code postgresql-15} package) in a directory under
 * {@code /tmp}, owned by the {@code postgres} OS user:
 *
 * <ul>
 *   <li>listens on 127.0.0.1 at a free port, its Unix socket in the fixture directory;
 *   <li>{@code ssl = on} with {@code ssl_cert_file}, {@code ssl_key_file} and {@code ssl_ca_file}
 *       in {@link #certDir()}, which a Rotor file writer running as {@code postgres} maintains;
 *   <li>{@code pg_hba.conf} and {@code pg_ident.conf} as its {@link PostgresSetup} says: the
 *       tests' own (a client certificate whose CN map {@code spiffe} takes to the role, nothing
 *       else) or the Kubernetes demo's files.
 * </ul>
 *
 * <p>The role and database are created in single-user mode before the first start, so the fixture
 * itself never needs a connection either.
 *
 * <p>Life cycle: {@link #create} (initdb, configuration), then {@link #start} once the SSL files
 * exist, {@link #reload}, {@link #stop}, {@link #close} (stops and deletes the directory unless
 * {@link #markFailed} was called, in which case it prints the log and keeps the directory).
 */
public final class PostgresFixture implements AutoCloseable {
  /** Where Debian's postgresql-15 package puts the server programs. */
  public static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");

  private static final Duration INITDB_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

  /**
   * What the cluster holds and whom it admits.
   *
   * @param database the database created for the tests
   * @param role the login role that certificate holders are mapped to
   * @param rolePassword a password given to {@code role}, which must never be enough to log in
   * @param clientCommonName the client certificate CN that map {@code spiffe} takes to {@code role}
   */
  public record Settings(String database, String role, String rolePassword, String clientCommonName) {
    public Settings {
      PostgresSetup.requireSqlName(database, "database");
      PostgresSetup.requireSqlName(role, "role");
      requireNonNull(rolePassword, "rolePassword");
      if (!rolePassword.matches("[A-Za-z0-9-]+")) {
        throw new IllegalArgumentException("rolePassword: " + rolePassword
            + " (expected: letters, digits and '-' only, so it needs no quoting)");
      }
      if (!clientCommonName.matches("[A-Za-z0-9.-]+")) {
        throw new IllegalArgumentException("clientCommonName: " + clientCommonName
            + " (expected: a DNS name, as SPIRE puts into the CN)");
      }
    }
  }

  private final OsUser postgres;
  private final PostgresSetup setup;
  private final Path dir;
  private final int port;
  private final Thread stopOnExit;
  private volatile boolean running;
  private boolean failed;
  private boolean closed;

  private PostgresFixture(OsUser postgres, PostgresSetup setup, Path dir, int port) {
    this.postgres = postgres;
    this.setup = setup;
    this.dir = dir;
    this.port = port;
    this.stopOnExit = new Thread(this::stopImmediately, "stop PostgreSQL in " + dir);
  }

  /**
   * Creates the cluster (initdb as {@code postgres}), its role and database, and its configuration;
   * does not start it. {@link #certDir()} exists, owned by {@code postgres}, and is empty.
   */
  public static PostgresFixture create(Settings settings) {
    return create(PostgresSetup.certificateOnly(settings));
  }

  /** As {@link #create(Settings)}, for a cluster made as {@code setup} says. */
  public static PostgresFixture create(PostgresSetup setup) {
    requireNonNull(setup, "setup");
    OsUser.requireRoot("run PostgreSQL as the postgres OS user");
    if (!Files.isExecutable(BIN.resolve("initdb"))) {
      throw new IllegalStateException(BIN.resolve("initdb") + " is missing (expected: Debian's"
          + " postgresql-15 package, installed by .ci/run)");
    }
    OsUser postgres = OsUser.lookup("postgres");
    Path dir;
    try {
      dir = Files.createTempDirectory(Path.of("/tmp"), "rotor-pg-");
      postgres.chown(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for PostgreSQL under /tmp", e);
    }
    PostgresFixture fixture = new PostgresFixture(postgres, setup, dir, Ports.free());
    try {
      fixture.initialize();
      return fixture;
    } catch (RuntimeException e) {
      fixture.markFailed();
      fixture.close();
      throw e;
    }
  }

  private void initialize() {
    for (Path sub : List.of(certDir(), socketDir())) {
      createDirectoryAsPostgres(sub);
    }
    asPostgres(List.of(bin("initdb"), "--pgdata=" + dataDir(), "--username=postgres",
        "--encoding=UTF8", "--locale=C", "--auth=reject", "--no-sync", "--no-instructions"),
        null, INITDB_TIMEOUT);

    // Single-user mode reads one statement per line; it prints ERROR and carries on, so look.
    String bootstrap = String.join("\n", setup.bootstrapStatements()) + "\n";
    String output = asPostgres(List.of(bin("postgres"), "--single", "-D", dataDir().toString(),
        "-c", "listen_addresses=", "postgres"), bootstrap, COMMAND_TIMEOUT);
    if (output.contains("ERROR:") || output.contains("FATAL:")) {
      throw new IllegalStateException("cannot create role " + setup.role() + " and database "
          + setup.database() + " in single-user mode:\n" + output);
    }

    appendTo(dataDir().resolve("postgresql.conf"), configuration());
    writeAsPostgres(dataDir().resolve("pg_hba.conf"), setup.hbaConf());
    writeAsPostgres(dataDir().resolve("pg_ident.conf"), setup.identConf());
  }

  private String configuration() {
    Map<String, String> values = new LinkedHashMap<>();
    values.put("listen_addresses", "'127.0.0.1'");
    values.put("port", Integer.toString(port));
    values.put("unix_socket_directories", "'" + socketDir() + "'");
    values.put("ssl", "on");
    values.put("ssl_cert_file", "'" + serverCertFile() + "'");
    values.put("ssl_key_file", "'" + serverKeyFile() + "'");
    values.put("ssl_ca_file", "'" + serverCaFile() + "'");
    values.put("ssl_min_protocol_version", "'TLSv1.2'");
    values.put("max_connections", "40");
    values.put("shared_buffers", "16MB");
    // A throw-away cluster: durability costs time and buys nothing.
    values.put("fsync", "off");
    values.put("synchronous_commit", "off");
    values.put("full_page_writes", "off");
    // What a failing test wants to read: who connected with what, and every reload.
    values.put("log_connections", "on");
    values.put("log_line_prefix", "'%m [%p] %q%u@%d '");
    values.put("log_timezone", "'UTC'");
    return values.entrySet().stream()
        .map(e -> e.getKey() + " = " + e.getValue())
        .collect(Collectors.joining("\n",
            "\n# --- dev.rotor.testkit.postgres.PostgresFixture (later settings win) ---\n", "\n"));
  }

  /** The fixture's directory: data, certificates, socket, log. */
  public Path dir() {
    return dir;
  }

  public Path dataDir() {
    return dir.resolve("data");
  }

  /**
   * The directory for the server's certificate, key and CA bundle, owned by {@code postgres}
   * (mode 0700): the Rotor file writer running as {@code postgres} writes there.
   */
  public Path certDir() {
    return dir.resolve("certs");
  }

  public Path serverCertFile() {
    return certDir().resolve(setup.tlsFiles().cert());
  }

  /** PostgreSQL refuses this file unless it is owned by {@code postgres} with mode 0600 or less. */
  public Path serverKeyFile() {
    return certDir().resolve(setup.tlsFiles().key());
  }

  /** The CAs that client certificates must chain to (SPIRE's trust bundle). */
  public Path serverCaFile() {
    return certDir().resolve(setup.tlsFiles().ca());
  }

  /** The postmaster's PID file; its first line is the postmaster's PID. */
  public Path postmasterPidFile() {
    return dataDir().resolve("postmaster.pid");
  }

  public Path log() {
    return dir.resolve("postgres.log");
  }

  public int port() {
    return port;
  }

  public PostgresSetup setup() {
    return setup;
  }

  public OsUser osUser() {
    return postgres;
  }

  /** The postmaster's PID, from the first line of {@link #postmasterPidFile()}. */
  public long postmasterPid() {
    try {
      return Long.parseLong(Files.readAllLines(postmasterPidFile(), StandardCharsets.US_ASCII).get(0).strip());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + postmasterPidFile(), e);
    }
  }

  /**
   * Starts the postmaster ({@code pg_ctl start -w}) and returns once it accepts connections.
   * The three SSL files must exist: with {@code ssl = on} PostgreSQL does not start without them.
   */
  public void start() {
    for (Path file : List.of(serverCertFile(), serverKeyFile(), serverCaFile())) {
      if (!Files.isRegularFile(file)) {
        throw new IllegalStateException("cannot start PostgreSQL: " + file + " does not exist"
            + " (expected: written by the server's file writer before the start)");
      }
    }
    ShortCommand.Result result = ShortCommand.run(postgres.command(List.of(bin("pg_ctl"),
        "--pgdata=" + dataDir(), "--log=" + log(), "--wait",
        "--timeout=" + START_TIMEOUT.toSeconds(), "start")), START_TIMEOUT.plusSeconds(10));
    if (!result.succeeded()) {
      throw new IllegalStateException("pg_ctl start failed with status " + result.exitCode() + ":\n"
          + result.output() + describe());
    }
    running = true;
    Runtime.getRuntime().addShutdownHook(stopOnExit);
  }

  /**
   * Asks the postmaster to re-read its configuration and SSL files ({@code pg_ctl reload}, i.e.
   * SIGHUP to the PID in {@code postmaster.pid}). Returns at once; PostgreSQL reloads
   * asynchronously.
   */
  public void reload() {
    asPostgres(List.of(bin("pg_ctl"), "--pgdata=" + dataDir(), "reload"), null, COMMAND_TIMEOUT);
  }

  /** Stops the cluster (fast shutdown: open sessions are ended) and waits for it. */
  public void stop() {
    if (!running) {
      return;
    }
    asPostgres(List.of(bin("pg_ctl"), "--pgdata=" + dataDir(), "--mode=fast", "--wait",
        "--timeout=" + STOP_TIMEOUT.toSeconds(), "stop"), null, STOP_TIMEOUT.plusSeconds(10));
    running = false;
    removeShutdownHook();
  }

  public boolean isRunning() {
    return running && Files.exists(postmasterPidFile());
  }

  /** Waits until {@link #log()} has a line after {@code fromLine} that matches {@code pattern}. */
  public String awaitLogLine(int fromLine, Pattern pattern, Duration timeout) {
    String[] found = new String[1];
    await("PostgreSQL to log a line matching /" + pattern + "/ in " + log())
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(100))
        .until(() -> {
          List<String> lines = logLines();
          for (String line : lines.subList(Math.min(fromLine, lines.size()), lines.size())) {
            if (pattern.matcher(line).find()) {
              found[0] = line;
              return true;
            }
          }
          return false;
        });
    return found[0];
  }

  /** The lines of PostgreSQL's log so far. */
  public List<String> logLines() {
    try {
      return Files.exists(log()) ? Files.readAllLines(log(), StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + log(), e);
    }
  }

  /** The last lines of PostgreSQL's log. */
  public String describe() {
    return "--- PostgreSQL in " + dir + " (port " + port + "), last 60 lines of " + log() + "\n"
        + ManagedProcess.tail(log(), 60);
  }

  /** Makes {@link #close} print the log and keep the directory. */
  public void markFailed() {
    failed = true;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (failed) {
      System.err.println(describe());
      System.err.println("PostgreSQL fixture directory kept for inspection: " + dir);
    }
    try {
      stop();
    } catch (RuntimeException e) {
      System.err.println("cannot stop PostgreSQL in " + dir + " cleanly: " + e.getMessage());
      stopImmediately();
      removeShutdownHook();
    }
    if (!failed) {
      TempDirs.deleteQuietly(dir);
    }
  }

  private void stopImmediately() {
    if (Files.exists(postmasterPidFile())) {
      ShortCommand.run(postgres.command(List.of(bin("pg_ctl"), "--pgdata=" + dataDir(),
          "--mode=immediate", "--wait", "--timeout=10", "stop")), Duration.ofSeconds(20));
    }
  }

  private void removeShutdownHook() {
    try {
      Runtime.getRuntime().removeShutdownHook(stopOnExit);
    } catch (IllegalStateException | IllegalArgumentException e) {
      // Already shutting down, or never added: nothing to undo.
    }
  }

  private String asPostgres(List<String> command, String stdin, Duration timeout) {
    return ShortCommand.run(postgres.command(command), stdin, timeout).orThrow().output();
  }

  private void createDirectoryAsPostgres(Path path) {
    try {
      Files.createDirectory(path, PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rwx------")));
      postgres.chown(path);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + path, e);
    }
  }

  private void writeAsPostgres(Path file, String text) {
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
      postgres.chown(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  private static void appendTo(Path file, String text) {
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + file, e);
    }
  }

  private Path socketDir() {
    return dir.resolve("sock");
  }

  private static String bin(String name) {
    return BIN.resolve(name).toString();
  }
}
