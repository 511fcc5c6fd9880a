package dev.rotor.it.demo;

import static dev.rotor.testkit.demo.RotationWatch.Source.BACKEND_DB_FILES;
import static dev.rotor.testkit.demo.RotationWatch.Source.BACKEND_ENVOY;
import static dev.rotor.testkit.demo.RotationWatch.Source.DATABASE_FILES;
import static dev.rotor.testkit.demo.RotationWatch.Source.DATABASE_SERVED;
import static dev.rotor.testkit.demo.RotationWatch.Source.FRONTEND_ENVOY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.testkit.clients.KeepAliveClient;
import dev.rotor.testkit.demo.ConfigAgreement;
import dev.rotor.testkit.demo.DemoReport;
import dev.rotor.testkit.demo.DemoRun;
import dev.rotor.testkit.demo.FrontendCalls;
import dev.rotor.testkit.demo.LegacyClient;
import dev.rotor.testkit.demo.LocalDemoStack;
import dev.rotor.testkit.demo.RogueCaller;
import dev.rotor.testkit.demo.RotationWatch;
import dev.rotor.testkit.demo.RotationWatch.Sighting;
import dev.rotor.testkit.demo.RotationWatch.Source;
import dev.rotor.testkit.drill.DrillChart;
import dev.rotor.testkit.drill.DrillTimeline;
import dev.rotor.testkit.envoy.EnvoyVersions;
import dev.rotor.testkit.process.LogsOnFailure;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The seed story on one machine, end to end, every part real ({@link LocalDemoStack}: SPIRE,
 * Rotor, Envoy, the demo apps, PostgreSQL), as {@code deploy/local/run.sh} shows it to people:
 * while the demo frontend calls the backend through its Envoy and a keep-alive client holds its
 * connection, every identity rotates at least {@value #ROTATIONS} times and SPIRE's CA rotates
 * (prepared at half of {@code ca_ttl}, active at five sixths), a rogue workload and callers without
 * a certificate are refused, and two legacy clients that load their certificate once fail once it
 * expires. The run happens once, in set-up; each test checks one promise of it.
 *
 * <p>30 s SVIDs are the longest a 3 m CA issues in full (a sixth of it). SPIRE back-dates them by
 * 10 s and its agent renews them once half their life has passed, checking every 5 s, so each
 * identity rotates every 10 to 15 s and a certificate in use has at least 15 s left: more than the
 * 10 s connection bound the policy gets here, plus a close. (With 20 s SVIDs a certificate in use
 * had only 10.2 s left, and a connection closed at its 10 s bound outlived it by 0.1 s.)
 */
class DemoEndToEndIT {
  private static final Duration SVID_TTL = Duration.ofSeconds(30);
  private static final Duration CA_TTL = Duration.ofMinutes(3);
  private static final Duration CALL_INTERVAL = Duration.ofMillis(500);
  private static final int ROTATIONS = 5;
  /** Calls on the new CA's SVIDs before the run ends. */
  private static final int CALLS_AFTER_CA_ROTATION = 20;
  /** The CA takes over at five sixths of its TTL after SPIRE started, then every SVID renews: generous margin. */
  private static final Duration STORY_TIMEOUT = CA_TTL.plusSeconds(90);
  /** Legacy attempts this close to the expiry may go either way (handshake duration, clock granularity). */
  private static final Duration EXPIRY_MARGIN = Duration.ofSeconds(1);
  /** What was pushed this shortly before the end may not have been polled yet (every 250 ms, handshakes every 1 s). */
  private static final Duration SETTLING = Duration.ofSeconds(3);
  private static final Path OUT = Path.of("target/demo-e2e").toAbsolutePath();
  /**
   * How much older than maxConnectionDuration a connection may be seen: the request in flight
   * when it is due, and the client seeing an idle close only at its next request (every 500 ms).
   */
  private static final Duration CONNECTION_SLACK = Duration.ofSeconds(3);

  @RegisterExtension
  static final LogsOnFailure logs = new LogsOnFailure();

  private static LocalDemoStack stack;
  private static DemoReport report;

  @BeforeAll
  static void runTheStory() {
    stack = LocalDemoStack.start(new LocalDemoStack.Options(SVID_TTL, CA_TTL, CALL_INTERVAL, EnvoyVersions.newest()),
        System.out::println);
    logs.add(stack::describe);
    DemoRun run = DemoRun.start(stack, new DemoRun.Options(Duration.ofSeconds(2), Duration.ofSeconds(1),
        Duration.ofMillis(500), Duration.ofSeconds(5), OUT), (kind, line) -> {
          if (kind != DemoRun.Kind.CALL) {
            System.out.println(line);
          }
        });
    try {
      await("every identity to rotate " + ROTATIONS + " times, the CA to rotate and every identity to hold an SVID of"
              + " the new CA, " + CALLS_AFTER_CA_ROTATION + " calls after that, and both legacy certificates to expire")
          .atMost(STORY_TIMEOUT)
          .pollInterval(Duration.ofSeconds(1))
          .until(() -> {
            stack.checkAlive("the story ran");
            return storyComplete(run);
          });
    } finally {
      report = run.finish();
    }
    System.out.print(report.summary());
  }

  private static boolean storyComplete(DemoRun run) {
    RotationWatch watch = run.watch();
    boolean rotated = RotationWatch.PRIMARY.stream().allMatch(s -> watch.rotations(s) >= ROTATIONS);
    List<RotationWatch.CaRotation> ca = watch.caRotations();
    if (!rotated || ca.isEmpty() || !onNewestCa(watch)) {
      return false;
    }
    String newest = watch.caKeys().get(watch.caKeys().size() - 1);
    Instant everyoneMoved = RotationWatch.PRIMARY.stream()
        .map(s -> watch.sightings(s).stream().filter(x -> x.caKeyId().orElse("").equals(newest)).findFirst()
            .orElseThrow().firstSeen())
        .max(Instant::compareTo).orElseThrow();
    long callsSince = FrontendCalls.read(stack.frontendLog()).stream().filter(c -> c.at().isAfter(everyoneMoved)).count();
    boolean legacyExpired = run.legacyClients().stream()
        .allMatch(l -> Instant.now().isAfter(l.notAfter().plus(EXPIRY_MARGIN).plusSeconds(10)));
    return callsSince >= CALLS_AFTER_CA_ROTATION && legacyExpired;
  }

  private static boolean onNewestCa(RotationWatch watch) {
    List<String> keys = watch.caKeys();
    String newest = keys.get(keys.size() - 1);
    return List.of(Source.values()).stream().allMatch(s -> !watch.sightings(s).isEmpty()
        && last(watch, s).caKeyId().orElse("").equals(newest));
  }

  private static Sighting last(RotationWatch watch, Source source) {
    List<Sighting> seen = watch.sightings(source);
    return seen.get(seen.size() - 1);
  }

  @AfterAll
  static void stopTheStack() {
    if (stack != null) {
      stack.close();
    }
  }

  // ---- the calls

  @Test
  void everyFrontendCall_succeeds_andTheBackendSawTheFrontendsSpiffeId() {
    List<FrontendCalls.Call> calls = report.calls();
    assertThat(calls).as("frontend calls during the run").hasSizeGreaterThan(100);
    assertThat(calls.stream().filter(c -> !c.ok()).toList()).as("failed calls (every non-200 is one)").isEmpty();
    assertThat(calls).allSatisfy(c -> assertThat(c.callerSpiffeId()).as("caller of the call at %s", c.at())
        .contains(LocalDemoStack.FRONTEND.spiffeId()));
  }

  @Test
  void theKeepAliveClient_neverFails() {
    assertThat(report.keepAliveRequests()).as("keep-alive requests").hasSizeGreaterThan(100);
    assertThat(report.keepAliveRequests().stream().filter(r -> !r.ok()).toList()).as("failed requests").isEmpty();
  }

  // ---- the rotations

  @Test
  void everyIdentityRotatesAtLeastFiveTimes_andTheCaRotates() {
    for (Source source : RotationWatch.PRIMARY) {
      assertThat(report.watch().rotations(source)).as("rotations of the %s SVID at the %s", source.identity(),
          source.where()).isGreaterThanOrEqualTo(ROTATIONS);
    }
    assertThat(report.watch().caRotations()).as("CA rotations").isNotEmpty();
    assertThat(onNewestCa(report.watch())).as("every place holds an SVID of the newest CA %s at the end",
        report.watch().caKeys()).isTrue();
  }

  @Test
  void everyNewSerial_reachesEachEnvoysCerts() {
    for (String node : List.of("frontend", "backend")) {
      Source source = node.equals("frontend") ? FRONTEND_ENVOY : BACKEND_ENVOY;
      List<String> pushed = settled(report.pushes(node).stream()
          .filter(r -> r.resources().contains("default") && !r.serials().isEmpty() && !r.time().isBefore(report.started()))
          .collect(Collectors.toMap(r -> r.serials().get(0), r -> r.time(), (a, b) -> a)));
      assertThat(pushed).as("serials Rotor pushed to the %s Envoy", node).hasSizeGreaterThanOrEqualTo(ROTATIONS);
      assertThat(report.watch().serialsInCerts(source)).as("serials the %s Envoy's /certs showed", node)
          .containsAll(pushed);
    }
  }

  @Test
  void everyNewBackendSerial_isWhatPostgresSees_inPgStatSsl() {
    Set<String> inPgStatSsl = report.calls().stream().flatMap(c -> c.databaseClientSerialHex().stream())
        .collect(Collectors.toSet());
    Instant firstCall = report.calls().get(0).at();
    List<String> written = settled(report.watch().sightings(BACKEND_DB_FILES).stream()
        .filter(s -> s.firstSeen().isAfter(firstCall))
        .collect(Collectors.toMap(Sighting::serialHex, Sighting::firstSeen, (a, b) -> a)));
    assertThat(written).as("backend client certificates Rotor wrote during the calls").hasSizeGreaterThanOrEqualTo(ROTATIONS);
    assertThat(inPgStatSsl).as("client serials PostgreSQL reported (pg_stat_ssl) for the backend's sessions")
        .containsAll(written);
    assertThat(serials(BACKEND_DB_FILES)).as("the database client files carry the SVID the backend's Envoy serves")
        .isSubsetOf(serials(BACKEND_ENVOY));
  }

  @Test
  void everyNewDatabaseSerial_isServedByPostgres_afterItsReload() {
    List<String> written = settled(report.watch().sightings(DATABASE_FILES).stream()
        .filter(s -> !s.firstSeen().isBefore(report.started()))
        .collect(Collectors.toMap(Sighting::serialHex, Sighting::firstSeen, (a, b) -> a)));
    assertThat(written).as("server certificates Rotor wrote for PostgreSQL").hasSizeGreaterThanOrEqualTo(ROTATIONS);
    assertThat(serials(DATABASE_SERVED)).as("certificates PostgreSQL presented to new handshakes").containsAll(written);
  }

  // ---- connection lifetime

  /**
   * The keep-alive client's connections (each one TLS connection from the frontend's Envoy to the
   * backend's) end before either certificate they were made with expires
   * ({@link DemoReport#connectionsThatOutlivedTheirCertificates}): the backend's listener closes them
   * at the policy's maxConnectionDuration, gracefully, and no request fails. Envoy's own
   * connection-length histograms (every connection, not only the client's) stay within the bound.
   */
  @Test
  void noConnectionOutlivesTheCertificatesItWasMadeWith() {
    Duration bound = stack.options().maxConnectionDuration();
    List<KeepAliveClient.Connection> closed = report.keepAliveConnections();
    assertThat(closed).as("keep-alive connections the backend's listener closed").hasSizeGreaterThanOrEqualTo(3);
    assertThat(report.keepAliveRequests().stream().filter(r -> !r.ok()).toList()).as("failed requests").isEmpty();
    assertThat(report.connectionsThatOutlivedTheirCertificates()).isEmpty();
    assertThat(closed).allSatisfy(c -> assertThat(c.age()).as("age of the connection opened at %s", c.opened())
        .isLessThanOrEqualTo(bound.plus(CONNECTION_SLACK)));
    DemoReport.ConnectionAges ages = report.connectionAges();
    System.out.printf("connection lifetime: maxConnectionDuration %s, SVID TTL %s; keep-alive connections lived %s ms;"
            + " Envoy: longest frontend->backend TLS connection %s, longest at the backend's listener %s,"
            + " %d closed for their age%n", bound, SVID_TTL, closed.stream().map(c -> c.age().toMillis()).toList(),
        ages.longestUpstream(), ages.longestAtBackendListener(), ages.closedForAge());
    assertThat(ages.closedForAge()).as("connections the backend's listener closed for their age")
        .isGreaterThanOrEqualTo(closed.size());
    assertThat(ages.longestUpstream()).as("longest frontend->backend TLS connection")
        .hasValueSatisfying(d -> assertThat(d).isLessThanOrEqualTo(bound.plus(CONNECTION_SLACK)));
  }

  // ---- who is refused

  @Test
  void theRogue_andCallersWithoutACertificate_areRefusedOnEveryTry() throws Exception {
    List<RogueCaller.Attempt> attempts = report.rogueAttempts();
    Map<String, Long> byKind = attempts.stream().collect(Collectors.groupingBy(RogueCaller.Attempt::kind, Collectors.counting()));
    assertThat(byKind.keySet()).as("kinds of attempt").containsExactlyInAnyOrder(RogueCaller.MTLS_NEW,
        RogueCaller.MTLS_RESUMING, RogueCaller.NO_CERTIFICATE, RogueCaller.PLAINTEXT);
    assertThat(byKind.values()).as("attempts of each kind").allSatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(20));
    assertThat(attempts.stream().filter(a -> !a.refused()).toList()).as("attempts not refused").isEmpty();
    assertThat(attempts.stream().filter(a -> a.kind().startsWith("mTLS")).map(RogueCaller.Attempt::answer).distinct())
        .as("the rogue's answers").containsExactly("403");
    assertThat(attempts.stream().filter(RogueCaller.Attempt::resumed).toList()).as("resumed sessions").isEmpty();
    String prefix = "listener.0.0.0.0_" + stack.backendPort() + ".ssl.";
    assertThat(stack.backendEnvoy().admin().stat(prefix + "session_reused")).as(prefix + "session_reused").isZero();
  }

  // ---- the legacy contrast

  @Test
  void legacyClientsFailOnceTheirCertificateExpires_theRotationAwarePathsNeverDo() {
    for (LegacyClient client : report.legacyClients()) {
      List<LegacyClient.Attempt> before = client.attempts().stream()
          .filter(a -> a.ended().isBefore(client.notAfter().minus(EXPIRY_MARGIN))).toList();
      List<LegacyClient.Attempt> after = client.attempts().stream()
          .filter(a -> a.started().isAfter(client.notAfter().plus(EXPIRY_MARGIN))).toList();
      assertThat(before).as("%s attempts before its certificate expired", client.name()).isNotEmpty()
          .allSatisfy(a -> assertThat(a.ok()).as("%s at %s: %s", client.name(), a.started(), a.error()).isTrue());
      assertThat(after).as("%s attempts after its certificate expired", client.name()).hasSizeGreaterThan(10)
          .allSatisfy(a -> assertThat(a.ok()).as("%s at %s succeeded", client.name(), a.started()).isFalse());
    }
    assertThat(report.calls().stream().filter(c -> !c.ok())).as("failed frontend calls").isEmpty();
  }

  @Test
  void theChart_isDrawnFromThisRunsTimeline() throws Exception {
    DrillTimeline timeline = report.timeline(Duration.ofSeconds(5));
    BufferedImage png = ImageIO.read(report.outputs().png().toFile());
    assertThat(png).as("%s read back as an image", report.outputs().png()).isNotNull();
    assertThat(png.getWidth()).isEqualTo(DrillChart.WIDTH);
    assertThat(DrillChart.pixels(png, DrillChart.FAILED)).as("red (the legacy clients' failures)").isPositive();
    assertThat(DrillChart.pixels(png, DrillChart.OK)).as("green (successful calls)").isPositive();
    List<Map<String, DrillTimeline.Counts>> csv = DrillTimeline.parseCsv(report.outputs().csv());
    for (String lane : timeline.clients()) {
      assertThat(csv.stream().mapToInt(row -> row.get(lane).ok() + row.get(lane).failed()).sum())
          .as("%s attempts in %s", lane, report.outputs().csv()).isEqualTo(timeline.total(lane).attempts());
    }
    assertThat(timeline.total(DemoReport.FRONTEND).failed()).isZero();
    assertThat(timeline.events()).extracting(DrillTimeline.Event::what).contains(DemoReport.CA_ROTATED);
  }

  // ---- the three accounts of what each Envoy holds

  @Test
  void rotorsPushLog_envoysConfigDump_andRotorsStatus_agree() {
    ConfigAgreement.Result frontend = ConfigAgreement.await(stack.frontendRotor(), stack.frontendEnvoy(), "frontend",
        Duration.ofSeconds(15));
    ConfigAgreement.Result backend = ConfigAgreement.await(stack.backendRotor(), stack.backendEnvoy(), "backend",
        Duration.ofSeconds(15));
    System.out.println("agreed: " + frontend.agreed() + " " + backend.agreed());
    assertThat(frontend.disagreements()).as("frontend").isEmpty();
    assertThat(backend.disagreements()).as("backend").isEmpty();
    assertThat(frontend.agreed()).hasSize(3);
    assertThat(backend.agreed()).hasSize(3);
  }

  // ---- helpers

  /** The keys of {@code firstSeen} (serial to when it appeared) that appeared before the run's last seconds. */
  private static List<String> settled(Map<String, Instant> firstSeen) {
    Instant cutoff = report.ended().minus(SETTLING);
    return firstSeen.entrySet().stream().filter(e -> e.getValue().isBefore(cutoff)).map(Map.Entry::getKey).toList();
  }

  private static Set<String> serials(Source source) {
    return report.watch().sightings(source).stream().map(Sighting::serialHex).collect(Collectors.toSet());
  }

}
