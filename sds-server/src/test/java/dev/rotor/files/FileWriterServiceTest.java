package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import dev.rotor.files.HelperConfig.FileSettings;
import dev.rotor.files.HelperConfig.HealthChecks;
import dev.rotor.files.HelperConfig.Reload;
import dev.rotor.files.HelperConfig.X509Output;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Pem;
import dev.rotor.identity.Svid;
import dev.rotor.source.workload.WorkloadApiAddress;
import dev.rotor.testing.FakeScheduler;
import dev.rotor.testing.TestPki;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The writer as the gate's consumer: writes, skips, coalesces, retries, reports. */
class FileWriterServiceTest {

  @TempDir Path dir;
  private final FakeScheduler scheduler = new FakeScheduler();
  private final TestPki pki = TestPki.forTrustDomain("example.org");
  private final TestPki federated = TestPki.forTrustDomain("other.org");
  private final List<FileWriterService> services = new ArrayList<>();

  @AfterEach
  void close() {
    services.forEach(FileWriterService::close);
  }

  private HelperConfig config(String hint, Reload reload) {
    return new HelperConfig(new WorkloadApiAddress.Unix(Path.of("/tmp/agent.sock")), dir,
        Optional.of(new X509Output("svid.pem", "svid_key.pem", "svid_bundle.pem", false, false, false,
            Optional.empty(), Optional.empty())),
        List.of(), Optional.empty(),
        new FileSettings(0644, 0600, 0600, 0600, Optional.empty(), Optional.empty()),
        reload, true, HealthChecks.disabled(), hint);
  }

  /** reload_cmd appends a line to "reloads" in the working directory: one line per renewal. */
  private Reload countingReload() {
    return new Reload(Optional.empty(), List.of(), Optional.empty(), Optional.empty(),
        List.of("sh", "-c", "echo reload >> " + dir.resolve("reloads")), Duration.ofSeconds(5));
  }

  private FileWriterService service(HelperConfig config, AtomicFileWriter writer) {
    FileWriterService s = new FileWriterService(config, scheduler, false, scheduler.clock(), writer, dir);
    services.add(s);
    return s;
  }

  private FileWriterService service(HelperConfig config) {
    return service(config, new AtomicFileWriter());
  }

  private IdentitySnapshot snapshot(Svid svid) {
    return IdentitySnapshot.of(List.of(svid), Map.of(pki.trustDomain(), pki.bundle()));
  }

  private long reloads() throws IOException {
    Path f = dir.resolve("reloads");
    return Files.exists(f) ? Files.readAllLines(f).size() : 0;
  }

  @Test
  void firstSnapshot_isWritten_andTheWriterIsReady() throws IOException {
    FileWriterService s = service(config("", countingReload()));
    Svid svid = pki.issue("/db");
    assertThat(s.status().ready()).isFalse();

    s.onServed(snapshot(svid));
    assertThat(Files.exists(dir.resolve("svid.pem"))).as("nothing happens on the caller's thread").isFalse();
    scheduler.runDueTasks();

    assertThat(Files.readAllBytes(dir.resolve("svid.pem"))).isEqualTo(Pem.certificates(svid.chain()));
    assertThat(Files.readAllBytes(dir.resolve("svid_key.pem"))).isEqualTo(Pem.privateKey(svid.privateKey()));
    assertThat(Files.readAllBytes(dir.resolve("svid_bundle.pem"))).isEqualTo(Pem.certificates(
        pki.bundle().authorities()));
    FileWriterStatus st = s.status();
    assertThat(st.ready()).isTrue();
    assertThat(st.writes()).isEqualTo(1);
    assertThat(st.lastWriteAt()).contains(scheduler.now());
    assertThat(s.firstWrite()).isDone();
    assertThat(reloads()).isEqualTo(1);
  }

  @Test
  void keyFileOwner_isTheUserWhoseProcessThePidFileMayName() throws Exception {
    assumeTrue(AtomicFileWriterTest.isRoot(), "key_file_owner 4321 needs root");
    // A root pid file naming a root process: fine by the file's owner, but the key is uid 4321's.
    Process rootProcess = new ProcessBuilder("env", "--default-signal=HUP", "sleep", "60").start();
    try {
      Path pidFile = Files.writeString(dir.resolve("app.pid"), rootProcess.pid() + "\n");
      Files.setPosixFilePermissions(pidFile, FileSpec.permissions(0644));
      Reload reload = new Reload(Optional.empty(), List.of(), Optional.of(pidFile),
          Optional.of(new RenewSignal("SIGHUP")), List.of(), Duration.ofSeconds(5));
      HelperConfig base = config("", reload);
      HelperConfig c = new HelperConfig(base.agentAddress(), base.certDir(), base.x509(), List.of(), Optional.empty(),
          new FileSettings(0644, 0600, 0600, 0600, Optional.empty(), Optional.of(FileOwner.parse("4321:4321"))),
          reload, true, HealthChecks.disabled(), "");
      FileWriterService s = service(c);
      try (Logs logs = new Logs(RenewalActions.class)) {
        s.onServed(snapshot(pki.issue("/db")));
        scheduler.runDueTasks();
        scheduler.advance(Duration.ofMinutes(1));
        assertThat(logs.atLeast(Level.ERROR)).singleElement().asString().contains("runs as uid 0, not as uid 4321,"
            + " key_file_owner; not signalled");
      }

      assertThat(Files.getAttribute(dir.resolve("svid_key.pem"), "unix:uid")).isEqualTo(4321);
      assertThat(s.status().signalsSent()).isZero();
      assertThat(s.status().signalFailures()).isEqualTo(1);
      assertThat(rootProcess.isAlive()).isTrue();
    } finally {
      rootProcess.destroyForcibly();
    }
  }

  @Test
  void unchangedContent_noWriteAndNoSignal() throws IOException {
    FileWriterService s = service(config("", countingReload()));
    Svid svid = pki.issue("/db");
    s.onServed(snapshot(svid));
    scheduler.runDueTasks();
    // A federated bundle the files do not include: a new snapshot, the same files.
    s.onServed(IdentitySnapshot.of(List.of(svid), Map.of(pki.trustDomain(), pki.bundle(),
        federated.trustDomain(), federated.bundle())));
    scheduler.runDueTasks();

    assertThat(s.status().writes()).isEqualTo(1);
    assertThat(s.status().unchanged()).isEqualTo(1);
    assertThat(reloads()).isEqualTo(1);
  }

  @Test
  void rotation_writesAndSignalsAgain() throws IOException {
    FileWriterService s = service(config("", countingReload()));
    s.onServed(snapshot(pki.issue("/db")));
    scheduler.runDueTasks();
    Svid next = pki.issue("/db");
    s.onServed(snapshot(next));
    scheduler.runDueTasks();
    assertThat(Files.readAllBytes(dir.resolve("svid.pem"))).isEqualTo(Pem.certificates(next.chain()));
    assertThat(s.status().writes()).isEqualTo(2);
    assertThat(reloads()).isEqualTo(2);
  }

  @Test
  void snapshotsArrivingTogether_coalesce_newestWins() throws IOException {
    FileWriterService s = service(config("", countingReload()));
    Svid last = null;
    for (int i = 0; i < 5; i++) {
      last = pki.issue("/db");
      s.onServed(snapshot(last));
    }
    assertThat(scheduler.pendingTasks()).isEqualTo(1);
    scheduler.runDueTasks();
    assertThat(Files.readAllBytes(dir.resolve("svid.pem"))).isEqualTo(Pem.certificates(last.chain()));
    assertThat(s.status().writes()).isEqualTo(1);
    assertThat(reloads()).isEqualTo(1);
  }

  @Test
  void failedWrite_keepsTheOldFiles_isReported_andRetriedWithBackoff() throws IOException {
    int[] failuresLeft = {0};
    AtomicFileWriter flaky = new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterContent(Path file) throws IOException {
        if (failuresLeft[0] > 0) {
          failuresLeft[0]--;
          throw new IOException("No space left on device");
        }
      }
    });
    FileWriterService s = service(config("", countingReload()), flaky);
    Svid first = pki.issue("/db");
    s.onServed(snapshot(first));
    scheduler.runDueTasks();

    failuresLeft[0] = 2;
    Svid second = pki.issue("/db");
    s.onServed(snapshot(second));
    scheduler.runDueTasks();
    FileWriterStatus st = s.status();
    assertThat(st.ready()).isFalse();
    assertThat(st.live()).isFalse();
    assertThat(st.lastError()).hasValueSatisfying(e -> assertThat(e)
        .startsWith("writing to " + dir + " failed: IOException: No space left on device"));
    assertThat(Files.readAllBytes(dir.resolve("svid.pem"))).isEqualTo(Pem.certificates(first.chain()));
    assertThat(scheduler.nextDelay()).isEqualTo(Duration.ofSeconds(1));

    scheduler.advance(Duration.ofSeconds(1)); // fails again, next retry in 2 s
    assertThat(s.status().failures()).isEqualTo(2);
    assertThat(scheduler.nextDelay()).isEqualTo(Duration.ofSeconds(2));
    scheduler.advance(Duration.ofSeconds(2));

    assertThat(s.status().ready()).isTrue();
    assertThat(s.status().lastError()).isEmpty();
    assertThat(Files.readAllBytes(dir.resolve("svid.pem"))).isEqualTo(Pem.certificates(second.chain()));
    assertThat(reloads()).isEqualTo(2);
    assertThat(scheduler.pendingTasks()).isZero();
  }

  @Test
  void hintWithoutMatch_isReportedOnce_andNothingIsWritten() {
    FileWriterService s = service(config("web", countingReload()));
    try (Logs logs = new Logs(FileWriterService.class)) {
      s.onServed(snapshot(pki.issue("/db")));
      scheduler.runDueTasks();
      s.onServed(snapshot(pki.issue("/db")));
      scheduler.runDueTasks();
      assertThat(logs.atLeast(Level.WARN)).containsExactly("ERROR hint: no SVID has hint \"web\" (the agent's SVIDs"
          + " have hints (none)); nothing written");
    }
    assertThat(Files.exists(dir.resolve("svid.pem"))).isFalse();
    assertThat(s.status().ready()).isFalse();
    assertThat(s.status().failures()).isEqualTo(2);
    assertThat(scheduler.pendingTasks()).as("no retry: only a new snapshot can match").isZero();
  }

  @Test
  void restartWithTheSameIdentity_findsTheFilesInPlace_andSignalsNobody() throws IOException {
    Svid svid = pki.issue("/db");
    FileWriterService first = service(config("", countingReload()));
    first.onServed(snapshot(svid));
    scheduler.runDueTasks();
    first.close();

    FileWriterService second = service(config("", countingReload()));
    assertThat(second.status().publishedDigest()).isEqualTo(first.status().publishedDigest());
    second.onServed(snapshot(svid));
    scheduler.runDueTasks();
    assertThat(second.status().writes()).isZero();
    assertThat(second.status().unchanged()).isEqualTo(1);
    assertThat(second.status().ready()).isTrue();
    assertThat(reloads()).isEqualTo(1);
  }

  @Test
  void modeChangedOutOfBand_isCorrectedAtRestart_withoutASignal() throws IOException {
    Svid svid = pki.issue("/db");
    FileWriterService first = service(config("", countingReload()));
    first.onServed(snapshot(svid));
    scheduler.runDueTasks();
    first.close();
    Files.setPosixFilePermissions(dir.resolve("svid_key.pem"), PosixFilePermissions.fromString("rw-r--r--"));

    FileWriterService second = service(config("", countingReload()));
    second.onServed(snapshot(svid));
    scheduler.runDueTasks();
    assertThat(Files.getPosixFilePermissions(dir.resolve("svid_key.pem")))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(second.status().writes()).isEqualTo(1);
    assertThat(reloads()).as("same content: the program need not reload").isEqualTo(1);
  }

  @Test
  void jwtOutputs_withoutAnAgent_areRefusedAtStart_notIgnored() {
    HelperConfig base = config("", Reload.none());
    HelperConfig jwt = new HelperConfig(base.agentAddress(), base.certDir(), base.x509(),
        List.of(new HelperConfig.JwtSvidOutput("db", List.of(), "db.token")), Optional.empty(), base.files(),
        base.reload(), true, base.healthChecks(), "");
    assertThatThrownBy(() -> service(jwt)).isInstanceOf(HelperConfigException.class)
        .hasMessage("jwt_svids: not available here (JWT outputs need the SPIRE agent's Workload API)");
  }

  @Test
  void healthEndpoints_readyOnlyAfterTheFirstWrite() throws Exception {
    HelperConfig base = config("", Reload.none());
    HelperConfig withHealth = new HelperConfig(base.agentAddress(), base.certDir(), base.x509(), List.of(),
        Optional.empty(), base.files(), base.reload(), true,
        new HealthChecks(true, "127.0.0.1", 0, "/live", "/ready"), "");
    FileWriterService s = FileWriterService.start(withHealth);
    services.add(s);
    int port = s.healthPort().orElseThrow();
    HttpClient http = HttpClient.newHttpClient();

    assertThat(get(http, port, "/live").statusCode()).isEqualTo(200);
    HttpResponse<String> notReady = get(http, port, "/ready");
    assertThat(notReady.statusCode()).isEqualTo(503);
    assertThat(notReady.body()).contains("\"ready\":false");
    assertThat(get(http, port, "/other").statusCode()).isEqualTo(404);
    assertThat(get(http, port, "/ready/x").statusCode()).isEqualTo(404);

    s.onServed(snapshot(pki.issue("/db")));
    await().atMost(Duration.ofSeconds(10)).until(() -> get(http, port, "/ready").statusCode() == 200);
    assertThat(get(http, port, "/ready").body()).contains("\"status\":\"OK\"", "\"writes\":1");
  }

  @Test
  void healthServer_failedWriteMakesBothUnhealthy() throws Exception {
    FileWriterStatus failed = new FileWriterStatus(false, Optional.of("disk full"), 1, 0, 1, 0, 0, 0, 0,
        Optional.empty(), Optional.empty());
    try (HealthServer h = HealthServer.start(new HealthChecks(true, "127.0.0.1", 0, "/healthz", "/readyz"),
        () -> failed)) {
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> live = get(http, h.port(), "/healthz");
      assertThat(live.statusCode()).isEqualTo(503);
      assertThat(live.body()).contains("\"last_error\":\"disk full\"");
      assertThat(get(http, h.port(), "/readyz").statusCode()).isEqualTo(503);
    }
  }

  private static HttpResponse<String> get(HttpClient http, int port, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
