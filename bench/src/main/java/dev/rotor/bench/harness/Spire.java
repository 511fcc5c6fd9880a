package dev.rotor.bench.harness;

import dev.rotor.testkit.spire.SpireFixture;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A real SPIRE server and agent for the benchmark, started by the end-to-end tests' {@link
 * SpireFixture} (same build script, same configuration files), with one change: the fixture runs
 * the agent at DEBUG for test diagnostics, which would make it log every SDS request; the agent
 * is restarted at INFO, its default, so it is measured as deployed.
 *
 * <p>One workload entry is registered for this UID, so Rotor, the load client's Workload API probe
 * and spiffe-helper (all run by the harness's user) receive the same SVID from the same agent cache.
 */
public final class Spire implements AutoCloseable {
  public static final String WORKLOAD_ID = SpireFixture.TRUST_DOMAIN_ID + "/bench/workload";

  private final SpireFixture fixture;
  private final Path binDir;

  private Spire(SpireFixture fixture, Path binDir) {
    this.fixture = fixture;
    this.binDir = binDir;
  }

  /**
   * Starts SPIRE and registers {@link #WORKLOAD_ID} for this UID with {@code svidTtl}. SPIRE's
   * agent renews at half of the SVID's lifetime (which SPIRE back-dates by 10 s), checked at each
   * 5 s sync, so a 30 s TTL rotates about every 10 s.
   */
  public static Spire start(Path repoRoot, Duration svidTtl) throws IOException {
    System.setProperty("rotor.repo.root", repoRoot.toString());
    SpireFixture f = new SpireFixture().start();
    try {
      f.createEntry(WORKLOAD_ID, SpireFixture.currentUidSelectors(), svidTtl);
      f.awaitSvidIssued(WORKLOAD_ID);
      f.stopAgent();
      Path conf = f.dir().resolve("agent.conf");
      String text = Files.readString(conf, StandardCharsets.UTF_8).replace("log_level = \"DEBUG\"", "log_level = \"INFO\"");
      Files.writeString(conf, text, StandardCharsets.UTF_8);
      f.startAgent();
      f.awaitSvidIssued(WORKLOAD_ID);
      Path bin = Path.of(System.getProperty("user.home"), ".cache", "rotor", "spire-v1.13.3", "bin");
      String envBin = System.getenv("SPIRE_BIN_DIR");
      return new Spire(f, envBin != null ? Path.of(envBin) : bin);
    } catch (RuntimeException | IOException e) {
      f.markFailed();
      f.close();
      throw e;
    }
  }

  public Path agentSocket() {
    return fixture.agentSocket();
  }

  public Path dir() {
    return fixture.dir();
  }

  public Path binDir() {
    return binDir;
  }

  /** The agent's process id (found by its config path, which is unique to this fixture). */
  public long agentPid() {
    return ProcFs.findPid("spire-agent", "run", fixture.dir().resolve("agent.conf").toString())
        .orElseThrow(() -> new IllegalStateException("no spire-agent process for " + fixture.dir()));
  }

  public Optional<String> version() {
    try {
      Process p = new ProcessBuilder(List.of(binDir.resolve("spire-agent").toString(), "--version"))
          .redirectErrorStream(true).start();
      String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      p.waitFor();
      return Optional.of(v);
    } catch (IOException | InterruptedException e) {
      return Optional.empty();
    }
  }

  @Override
  public void close() {
    fixture.close();
  }
}
