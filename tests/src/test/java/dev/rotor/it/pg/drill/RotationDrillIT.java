package dev.rotor.it.pg.drill;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.it.pg.PooledClient;
import dev.rotor.it.pg.PostgresWithSvids;
import dev.rotor.testkit.drill.DrillChart;
import dev.rotor.testkit.drill.DrillTimeline;
import dev.rotor.testkit.process.LogsOnFailure;
import dev.rotor.testkit.spire.SpireFixture;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The rotation drill ({@link RotationDrill}), shortened to one expiry of the legacy client's
 * certificate: the legacy client fails from the moment its certificate expires, the two
 * rotation-aware clients never fail, and the CSV and PNG come out readable.
 *
 * <p>{@code tests/drill/run-drill.sh} runs this same test longer, through system properties:
 * {@code rotor.drill.ttl}, {@code rotor.drill.length} and {@code rotor.drill.interval} (seconds)
 * and {@code rotor.drill.out} (directory, default {@code target/drill}).
 */
class RotationDrillIT {
  private static final Duration TTL = seconds("rotor.drill.ttl", 30);
  private static final Duration LENGTH = seconds("rotor.drill.length", 70);
  private static final Duration INTERVAL = seconds("rotor.drill.interval", 5);
  private static final Path OUT = Path.of(System.getProperty("rotor.drill.out", "target/drill"));
  private static final Duration ATTEMPT_EVERY = Duration.ofMillis(500);
  /** Attempts this close to the expiry may go either way (handshake duration, clock granularity). */
  private static final Duration EXPIRY_MARGIN = Duration.ofSeconds(1);

  @RegisterExtension
  @Order(1)
  static final SpireFixture spire = new SpireFixture();

  @RegisterExtension
  @Order(2)
  static final LogsOnFailure logs = new LogsOnFailure();

  private static PostgresWithSvids environment;

  @BeforeAll
  static void startPostgresWithRotorWriters() {
    environment = PostgresWithSvids.start(spire, TTL);
    logs.add(environment::describe);
  }

  @AfterAll
  static void stop() {
    if (environment != null) {
      environment.close();
    }
  }

  @Test
  void legacyClientFailsOnceItsCertificateExpires_rotationAwareClientsNeverFail() throws Exception {
    RotationDrill.Options options = new RotationDrill.Options(TTL, LENGTH, INTERVAL, ATTEMPT_EVERY,
        PooledClient.SHORTEST_MAX_LIFETIME, OUT.toAbsolutePath());
    RotationDrill.Result result = new RotationDrill(environment, options, System.out, Clock.systemUTC()).run();
    DrillTimeline timeline = result.timeline();

    assertThat(result.legacyExpiry())
        .as("when the legacy client's certificate expires (the drill must outlast it)")
        .isPositive()
        .isLessThan(LENGTH.minusSeconds(5));
    Duration expiry = result.legacyExpiry();
    List<DrillTimeline.Attempt> legacy = timeline.attempts(RotationDrill.LEGACY);
    List<DrillTimeline.Attempt> beforeExpiry = legacy.stream()
        .filter(a -> a.ended().compareTo(expiry.minus(EXPIRY_MARGIN)) < 0).toList();
    List<DrillTimeline.Attempt> afterExpiry = legacy.stream()
        .filter(a -> a.started().compareTo(expiry.plus(EXPIRY_MARGIN)) > 0).toList();
    assertThat(beforeExpiry).as("legacy attempts before its certificate expired").isNotEmpty()
        .allSatisfy(a -> assertThat(a.ok()).as("legacy attempt at %s: %s", a.started(), a.error()).isTrue());
    assertThat(afterExpiry).as("legacy attempts after its certificate expired").isNotEmpty()
        .allSatisfy(a -> assertThat(a.ok()).as("legacy attempt at %s succeeded", a.started()).isFalse());
    for (String aware : List.of(RotationDrill.REREADING, RotationDrill.POOL)) {
      assertThat(timeline.attempts(aware).stream().filter(a -> !a.ok()).toList())
          .as("failed attempts of the rotation-aware client %s", aware).isEmpty();
      assertThat(timeline.total(aware).ok()).as("successful attempts of %s", aware)
          .isGreaterThan((int) (LENGTH.toMillis() / ATTEMPT_EVERY.toMillis() / 4));
    }
    assertThat(timeline.events()).extracting(DrillTimeline.Event::what)
        .as("rotations during the drill")
        .contains(DrillTimeline.SERVER_ROTATED, DrillTimeline.CLIENT_ROTATED);

    List<Map<String, DrillTimeline.Counts>> csv = DrillTimeline.parseCsv(result.csv());
    assertThat(csv).hasSize(timeline.intervals());
    for (String client : timeline.clients()) {
      assertThat(csv.stream().mapToInt(row -> row.get(client).ok()).sum())
          .as("%s successes in %s", client, result.csv()).isEqualTo(timeline.total(client).ok());
      assertThat(csv.stream().mapToInt(row -> row.get(client).failed()).sum())
          .as("%s failures in %s", client, result.csv()).isEqualTo(timeline.total(client).failed());
    }

    BufferedImage png = ImageIO.read(result.png().toFile());
    assertThat(png).as("%s read back as an image", result.png()).isNotNull();
    assertThat(png.getWidth()).isEqualTo(DrillChart.WIDTH);
    assertThat(png.getHeight()).isEqualTo(DrillChart.height(timeline.clients().size()));
    assertThat(DrillChart.pixels(png, DrillChart.FAILED)).as("red (failed) pixels in the chart").isPositive();
    assertThat(DrillChart.pixels(png, DrillChart.OK)).as("green (successful) pixels in the chart").isPositive();
  }

  private static Duration seconds(String property, long defaultSeconds) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      return Duration.ofSeconds(defaultSeconds);
    }
    try {
      return Duration.ofSeconds(Long.parseLong(value.strip()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(property + ": \"" + value + "\" (expected: whole seconds)", e);
    }
  }
}
