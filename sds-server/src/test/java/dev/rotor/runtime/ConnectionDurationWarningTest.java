package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.admin.AdminOptions;
import dev.rotor.gate.GatePolicy;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.transport.LogCapture;
import dev.rotor.transport.UdsServerOptions;
import dev.rotor.xds.secret.SecretNaming;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rotor serve} warns when the policy lets a connection live longer than a quarter of the lifetime
 * of the SVIDs it serves (a TLS connection could then outlive its certificate), and only then.
 */
class ConnectionDurationWarningTest {
  private static final TrustDomain TD = TrustDomain.parse("example.org");
  private static final SpiffeId BACKEND = SpiffeId.parse("spiffe://example.org/ns/demo/sa/backend");
  private static final String WARNING = "maxConnectionDuration is longer than a quarter of the SVID lifetime";

  @TempDir Path dir;

  @Test
  void defaultFifteenMinutes_withOneMinuteSvids_warnsNamingTheValueToSet() throws Exception {
    List<String> logged = logsOfServing(policy(""), Duration.ofMinutes(1));
    assertThat(logged).filteredOn(m -> m.contains(WARNING)).singleElement().asString()
        .contains("set maxConnectionDuration to at most ");
  }

  /** Half the lifetime is not enough: a connection may start just before the agent renews (issue 14's run). */
  @Test
  void thirtySeconds_withOneMinuteSvids_warns() throws Exception {
    assertThat(logsOfServing(policy("maxConnectionDuration: 30s\n"), Duration.ofMinutes(1)))
        .anyMatch(m -> m.contains(WARNING));
  }

  @Test
  void fifteenSeconds_withOneMinuteSvids_doesNotWarn() throws Exception {
    assertThat(logsOfServing(policy("maxConnectionDuration: 15s\n"), Duration.ofMinutes(1)))
        .noneMatch(m -> m.contains(WARNING))
        .anyMatch(m -> m.contains("serving policy"));
  }

  private List<String> logsOfServing(String policyYaml, Duration svidTtl) throws IOException {
    Path policy = Files.writeString(dir.resolve("policy.yaml"), policyYaml);
    Path socketDir = Files.createTempDirectory(Path.of("/tmp"), "rotor-warn-");
    ServeConfig config = new ServeConfig(
        Optional.of(DevCaOptions.of(TD, List.of(BACKEND), svidTtl, Duration.ofDays(1), Duration.ZERO, svidTtl)),
        Optional.empty(),
        Duration.ZERO,
        GatePolicy.trustDomain(TD),
        UdsServerOptions.of(socketDir.resolve("rotor.sock"), Set.of((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid"))),
        Optional.empty(),
        SecretNaming.SPIRE_DEFAULTS,
        false,
        Optional.of(policy),
        Duration.ofSeconds(1),
        AdminOptions.disabled());
    // The test configuration logs WARN and up; the lines that say the check has run are INFO.
    ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(ServeRuntime.class);
    ch.qos.logback.classic.Level level = logger.getLevel();
    logger.setLevel(ch.qos.logback.classic.Level.INFO);
    try (LogCapture logs = new LogCapture(ServeRuntime.class); ServeRuntime runtime = ServeRuntime.start(config)) {
      // Both logged: the check has run with the policy and the identity in place (it runs at each publish).
      await("the policy and the identity served").atMost(Duration.ofSeconds(10))
          .until(() -> logs.messages().contains("serving policy") && logs.messages().contains("serving identity"));
      return logs.messages();
    } finally {
      logger.setLevel(level);
      try (java.util.stream.Stream<Path> files = Files.walk(socketDir)) {
        for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p); // the socket, its lock file, the directory
        }
      }
    }
  }

  private static String policy(String extra) {
    return "version: 1\ntrustDomain: example.org\n" + extra + """
        workloads:
          - name: backend
            match: { spiffeIds: [spiffe://example.org/ns/demo/sa/backend] }
            inbound:
              port: 18080
              appPort: 19090
              protocol: http
              rules:
                - action: allow
                  from: [ { spiffeId: spiffe://example.org/ns/demo/sa/frontend } ]
        """;
  }
}
