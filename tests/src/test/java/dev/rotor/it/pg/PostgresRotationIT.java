package dev.rotor.it.pg;

import static dev.rotor.testkit.postgres.PemFiles.hex;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.rotor.it.SecretMaterial;
import dev.rotor.testkit.postgres.ClientFiles;
import dev.rotor.testkit.postgres.PemFiles;
import dev.rotor.testkit.postgres.PgJdbc;
import dev.rotor.testkit.postgres.PostgresFixture;
import dev.rotor.testkit.postgres.ServedCertificate;
import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.spire.SpireFixture;
import java.math.BigInteger;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * PostgreSQL over SVID mutual TLS, with both certificates kept current by Rotor file writers
 * ({@link PostgresWithSvids}): who gets in and who does not, and a HikariCP pool that queries every
 * 100 ms through three rotations of the server's and the client's certificate without a single
 * failure, while fresh TLS handshakes show PostgreSQL serving each new server certificate.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PostgresRotationIT {
  /**
   * SPIRE renews at about half-life, so a 70 s SVID rotates about every 30-35 s: three rotations
   * of each certificate within two minutes, and the pool's 30 s {@link #MAX_LIFETIME} (HikariCP's
   * floor) stays below half the TTL.
   */
  private static final Duration SVID_TTL = Duration.ofSeconds(70);
  private static final Duration MAX_LIFETIME = PooledClient.SHORTEST_MAX_LIFETIME;
  private static final Duration QUERY_PERIOD = Duration.ofMillis(100);
  private static final int ROTATIONS = 3;
  /** One SVID lifetime: the next renewal of either certificate is due well before. */
  private static final Duration ROTATION_TIMEOUT = SVID_TTL;
  /** From the new file to PostgreSQL serving it: the writer's SIGHUP and PostgreSQL's reload. */
  private static final Duration SERVE_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);
  private static final String INVALID_AUTHORIZATION = "28000";
  private static final Pattern SIGHUP_RELOAD = Pattern.compile("received SIGHUP, reloading configuration files");
  /** What PostgreSQL logs when a reload cannot use the SSL files (it then keeps the old ones). */
  private static final Pattern SSL_RELOAD_FAILED =
      Pattern.compile("could not load|does not match|SSL configuration was not reloaded|has group or world access");

  @RegisterExtension
  @Order(1)
  static final SpireFixture spire = new SpireFixture();

  @RegisterExtension
  @Order(2)
  static final LogsOnFailure logs = new LogsOnFailure();

  private static PostgresWithSvids environment;

  @BeforeAll
  static void startPostgresWithRotorWriters() {
    environment = PostgresWithSvids.start(spire, SVID_TTL);
    logs.add(environment::describe);
  }

  @AfterAll
  static void stop() {
    if (environment != null) {
      environment.close();
    }
  }

  @Test
  @Order(1)
  void plainConnection_isRejected_evenWithTheRolesPassword() {
    Properties plain = PgJdbc.base(postgres(), "plain");
    plain.setProperty("sslmode", "disable");
    plain.setProperty("password", PostgresWithSvids.SETTINGS.rolePassword());

    assertThatThrownBy(() -> connectAndClose(plain))
        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState())
            .as(e.getMessage()).isEqualTo(INVALID_AUTHORIZATION))
        .hasMessageContaining("no pg_hba.conf entry")
        .hasMessageContaining("no encryption");
  }

  @Test
  @Order(2)
  void tlsWithoutClientCertificate_isRejected_evenWithTheRolesPassword() {
    Properties noCertificate = PgJdbc.base(postgres(), "no-certificate");
    noCertificate.setProperty("sslmode", "verify-full");
    noCertificate.setProperty("sslrootcert", environment.clientFiles().ca().toString());
    noCertificate.setProperty("sslfactory", TrustOnlySslFactory.class.getName());
    noCertificate.setProperty("password", PostgresWithSvids.SETTINGS.rolePassword());

    assertThatThrownBy(() -> connectAndClose(noCertificate))
        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState())
            .as(e.getMessage()).isEqualTo(INVALID_AUTHORIZATION))
        .hasMessageContaining("connection requires a valid client certificate");
  }

  @Test
  @Order(3)
  void clientCertificate_isNotEnoughForAnotherRole() {
    Properties asSuperuser = PgJdbc.verifyFull(postgres(), environment.clientFiles(), "as-postgres");
    asSuperuser.setProperty("user", "postgres");

    assertThatThrownBy(() -> connectAndClose(asSuperuser))
        .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState())
            .as(e.getMessage()).isEqualTo(INVALID_AUTHORIZATION))
        .hasMessageContaining("certificate authentication failed for user \"postgres\"");
  }

  @Test
  @Order(4)
  void verifyFull_mapsTheClientSvidToApp_andTheServerPresentsItsSvid() throws SQLException {
    ClientFiles files = environment.clientFiles();
    BigInteger before = fileSerial(files.cert());
    SqlClient.Answer answer;
    try (ReconnectingClient client = new ReconnectingClient("verify-full", postgres(), files)) {
      answer = client.query();
    }
    BigInteger after = fileSerial(files.cert());

    assertThat(answer.user()).isEqualTo("app");
    assertThat(answer.clientSerial()).as("the client certificate PostgreSQL saw").isIn(before, after);
    X509Certificate served = served();
    assertThat(SecretMaterial.spiffeId(served)).isEqualTo(URI.create(PostgresWithSvids.SERVER_ID));
    assertThat(served.getSubjectX500Principal().getName()).contains("CN=" + PgJdbc.HOST);
  }

  @Test
  @Order(5)
  void serverKey_isPostgresOwnWithMode0600() throws Exception {
    assertServerKeyOwnedByPostgresWith0600();
  }

  /**
   * Rotor's PKCS#12 keystore is the one client file that cannot be read half old, half new, and
   * docs/file-writer.md recommends it for pgjdbc. pgjdbc 42.7.14's PKCS12KeyManager looks the key
   * up under the alias {@code user} only (and otherwise offers no certificate, so PostgreSQL
   * answers "connection requires a valid client certificate"): Rotor stores it under that alias.
   */
  @Test
  @Order(6)
  void pkcs12Keystore_logsInWithPgjdbc() throws SQLException {
    Properties keystore = PgJdbc.verifyFullWithKeystore(postgres(), environment.clientKeystore(),
        PostgresWithSvids.PKCS12_PASSWORD, environment.clientFiles().ca(), "pkcs12");
    try (ReconnectingClient client = new ReconnectingClient("pkcs12", postgres(), () -> keystore)) {
      assertThat(client.query().user()).isEqualTo("app");
    }
  }

  @Test
  @Order(10)
  void pooledQueries_runThroughThreeRotationsOfBothCertificates_withoutAFailure() throws Exception {
    PostgresFixture postgres = postgres();
    ClientFiles files = environment.clientFiles();
    Instant start = Instant.now();
    AtomicReference<BigInteger> server = new AtomicReference<>(fileSerial(postgres.serverCertFile()));
    AtomicReference<BigInteger> client = new AtomicReference<>(fileSerial(files.cert()));
    awaitServed(server.get());
    List<BigInteger> serverGenerations = new ArrayList<>(List.of(server.get()));
    List<BigInteger> clientGenerations = new ArrayList<>(List.of(client.get()));
    log(start, "server certificate %s, client certificate %s", hex(server.get()), hex(client.get()));
    long reloadsBefore = reloads();

    QueryLoop loop;
    try (PooledClient pool = new PooledClient("rotation-pool", postgres, files, MAX_LIFETIME, 2)) {
      loop = QueryLoop.start(pool, QUERY_PERIOD);
      try {
        while (serverGenerations.size() <= ROTATIONS || clientGenerations.size() <= ROTATIONS) {
          await("the next rotation of the server or client certificate (rotations so far: server "
                  + (serverGenerations.size() - 1) + ", client " + (clientGenerations.size() - 1) + ")")
              .atMost(ROTATION_TIMEOUT)
              .pollInterval(Duration.ofMillis(200))
              .until(() -> {
                environment.checkWritersAlive("waiting for a rotation");
                return !fileSerial(postgres.serverCertFile()).equals(server.get())
                    || !fileSerial(files.cert()).equals(client.get());
              });
          BigInteger newServer = fileSerial(postgres.serverCertFile());
          if (!newServer.equals(server.get())) {
            Instant written = Instant.now();
            server.set(newServer);
            serverGenerations.add(newServer);
            awaitServed(newServer);
            log(start, "server rotation %d: %s written, served to a fresh handshake %d ms later",
                serverGenerations.size() - 1, hex(newServer),
                Duration.between(written, Instant.now()).toMillis());
          }
          BigInteger newClient = fileSerial(files.cert());
          if (!newClient.equals(client.get())) {
            client.set(newClient);
            clientGenerations.add(newClient);
            log(start, "client rotation %d: %s written", clientGenerations.size() - 1, hex(newClient));
          }
          assertThat(loop.failed()).as(loop.summary()).isZero();
        }
        // A pooled connection keeps the certificate it was made with; within one maxLifetime the
        // pool replaces it with one made from the newest files.
        BigInteger newest = client.get();
        await("the pool to connect with the newest client certificate " + hex(newest)
                + " (PostgreSQL saw " + loop.clientSerials().stream().map(PemFiles::hex).toList() + ")")
            .atMost(MAX_LIFETIME.plusSeconds(15))
            .pollInterval(Duration.ofMillis(200))
            .until(() -> loop.clientSerials().contains(newest));
      } finally {
        loop.close();
      }
    }

    log(start, "%s; client certificates PostgreSQL saw: %s", loop.summary(),
        loop.clientSerials().stream().map(PemFiles::hex).toList());
    assertThat(loop.failed()).as(loop.summary()).isZero();
    long elapsedMillis = Duration.between(start, Instant.now()).toMillis();
    assertThat(loop.succeeded())
        .as("queries in %d ms at one per %d ms", elapsedMillis, QUERY_PERIOD.toMillis())
        .isGreaterThan((int) (elapsedMillis / QUERY_PERIOD.toMillis() / 3));
    assertThat(loop.users()).containsExactly("app");
    assertThat(clientGenerations).as("client certificates written").containsAll(loop.clientSerials());
    assertThat(loop.clientSerials())
        .as("client certificates PostgreSQL saw (the pool follows the rotations)")
        .hasSizeGreaterThanOrEqualTo(ROTATIONS);
    assertServerKeyOwnedByPostgresWith0600();
    // Each server rotation reached PostgreSQL as one SIGHUP from the writer (a rotation may have
    // landed after the loop stopped watching), and every reload took the new files. One more is
    // allowed: the first write happens before PostgreSQL starts, and the writer keeps retrying
    // the missing postmaster.pid for ~16 s, so it may signal the fresh postmaster once.
    long serverRotations = serverGenerations.size() - 1
        + (fileSerial(postgres.serverCertFile()).equals(server.get()) ? 0 : 1);
    assertThat(reloads() - reloadsBefore).as("SIGHUP reloads in %s", postgres.log())
        .isBetween(serverRotations, serverRotations + 1);
    assertThat(postgres.logLines()).as("PostgreSQL's log").noneMatch(SSL_RELOAD_FAILED.asPredicate());
  }

  private static long reloads() {
    return postgres().logLines().stream().filter(SIGHUP_RELOAD.asPredicate()).count();
  }

  private static PostgresFixture postgres() {
    return environment.postgres();
  }

  private static void connectAndClose(Properties properties) throws SQLException {
    Connection connection = PgJdbc.connect(postgres(), properties);
    connection.close();
  }

  private static X509Certificate served() {
    return ServedCertificate.fetch(PgJdbc.HOST, postgres().port(), environment.clientFiles().ca(),
        HANDSHAKE_TIMEOUT);
  }

  private static void awaitServed(BigInteger serial) {
    await("PostgreSQL to present server certificate " + hex(serial) + " to a fresh TLS handshake")
        .atMost(SERVE_TIMEOUT)
        .pollInterval(Duration.ofMillis(250))
        .until(() -> served().getSerialNumber().equals(serial));
  }

  private static BigInteger fileSerial(Path certFile) {
    return PemFiles.leaf(certFile).getSerialNumber();
  }

  private static void assertServerKeyOwnedByPostgresWith0600() throws Exception {
    Path key = postgres().serverKeyFile();
    assertThat(Files.getAttribute(key, "unix:uid", LinkOption.NOFOLLOW_LINKS))
        .as("owner of %s", key).isEqualTo(postgres().osUser().uid());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
        .as("mode of %s", key).isEqualTo("rw-------");
  }

  private static void log(Instant start, String format, Object... args) {
    System.out.printf("[PostgresRotationIT +%5.1f s] %s%n",
        Duration.between(start, Instant.now()).toMillis() / 1000.0, String.format(format, args));
  }
}
