package dev.rotor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Bad input to {@code rotor serve} is one line on stderr that names the flag and the fix, with
 * exit status 2, and nothing is started (no socket file appears).
 */
class ServeCommandTest {

  @TempDir Path dir;

  private record Result(int status, String out, String err) {}

  private Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = RotorMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(status, out.toString(), err.toString());
  }

  private String[] serve(String... more) {
    List<String> a = new ArrayList<>(List.of("serve", "--sds-socket", dir.resolve("sds.sock").toString()));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "malformed SPIFFE ID      | --dev --spiffe-id spiffe:/x                      | --spiffe-id: \"spiffe:/x\" is not a SPIFFE ID",
      "ID outside trust domain  | --dev --spiffe-id spiffe://other.org/x          | --spiffe-id: spiffe://other.org/x is not in trust domain example.org",
      "malformed trust domain   | --dev --trust-domain Bad_Domain!                | --trust-domain: \"Bad_Domain!\" is not a trust domain name",
      "trust domain with scheme | --dev --trust-domain spiffe://example.org       | --trust-domain: \"spiffe://example.org\" is not a trust domain name",
      "TTL too short            | --dev --svid-ttl 5s                             | --svid-ttl: PT5S (expected: between 10s and 30d)",
      "TTL not a duration       | --dev --svid-ttl soon                           | --svid-ttl",
      "dev-only flag            | --workload-api unix:///nonexistent.sock --svid-ttl 1m | --svid-ttl: only with --dev",
      "both sources             | --dev --workload-api unix:///x.sock             | --dev: cannot be combined with --workload-api",
      "relative agent address   | --workload-api unix:relative                    | --workload-api: \"unix:relative\" is not a socket address",
      "bad socket mode          | --dev --socket-mode rw-rw----                   | --socket-mode: \"rw-rw----\" is not an octal file mode",
      "bad uid                  | --dev --allowed-uid envoy                       | --allowed-uid: \"envoy\" is not a UID",
      "tcp without allow-list   | --dev --tcp-listen 127.0.0.1:8443               | --tcp-allowed-spiffe-id: required with --tcp-listen",
      "tcp bad port             | --dev --tcp-listen 127.0.0.1:70000 --tcp-allowed-spiffe-id spiffe://example.org/x | --tcp-listen: port 70000",
      "bad expected id          | --dev --expect-spiffe-id nope                   | --expect-spiffe-id: \"nope\" is not a SPIFFE ID",
      "same secret names        | --dev --default-svid-name ROOTCA                | three different names",
      "unknown flag             | --dev --frobnicate                              | Unknown option: '--frobnicate'",
      "bad admin address        | --dev --admin-address nowhere                   | --admin-address: \"nowhere\" (expected HOST:PORT",
      "bad admin port           | --dev --admin-address 127.0.0.1:99999           | --admin-address: port 99999",
      "no connections           | --dev --max-connections 0                       | --max-connections: 0 (expected: between 1 and 100000)",
      "per-UID above total      | --dev --max-connections 10 --max-connections-per-uid 11 | --max-connections-per-uid: 11 (expected: between 1 and 10)",
      "no streams per connection| --dev --max-streams-per-connection 0            | --max-streams-per-connection: 0 (expected: between 1 and 100000)",
      "admin timeout too long   | --dev --admin-request-timeout 5m                | --admin-request-timeout: 5m (expected: between 100ms and 1m",
      "admin connections 0      | --dev --admin-max-connections 0                 | --admin-max-connections: 0 (expected: between 4 and 10000)",
      "bad log format           | --dev --log-format xml                          | --log-format: \"xml\" (expected: json or text)",
      "bad log level            | --dev --log-level loud                          | --log-level: \"loud\" (expected one of: error",
      "margin never ready       | --dev --svid-ttl 1m --ready-expiry-margin 30s   | --ready-expiry-margin: 30s is not below half of --svid-ttl",
  })
  void badInput_isOneLineNamingTheFlag_exit2(String defect, String args, String expected) {
    Result r = run(serve(args.trim().split("\\s+")));
    assertThat(r.status()).as(defect + ": " + r.err()).isEqualTo(2);
    assertThat(r.err()).as(defect).contains(expected.trim());
    assertThat(r.err().strip().lines().count()).as(defect + ": one line: " + r.err()).isEqualTo(1);
    assertThat(Files.exists(dir.resolve("sds.sock"))).as(defect + ": nothing started").isFalse();
  }

  @Test
  void missingAgentSocket_namesTheFlagAndTheFix_afterTheWait() {
    Result r = run(serve("--workload-api", "unix://" + dir.resolve("agent.sock"), "--workload-api-wait", "0s"));
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("--workload-api: no SPIRE agent socket at " + dir.resolve("agent.sock"));
    assertThat(Files.exists(dir.resolve("sds.sock"))).isFalse();
  }

  @Test
  void tcpPortInUse_namesTheFlag_andLeavesNothingStarted() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Result r = run(serve("--dev", "--tcp-listen", "127.0.0.1:" + taken.getLocalPort(),
          "--tcp-allowed-spiffe-id", "spiffe://example.org/envoy"));
      assertThat(r.status()).as(r.err()).isEqualTo(2);
      assertThat(r.err()).contains("--tcp-listen");
      assertThat(r.err().strip().lines().count()).isEqualTo(1);
      // The Unix socket had started before the TCP listener failed: it must be gone again.
      assertThat(Files.exists(dir.resolve("sds.sock"))).isFalse();
    }
  }

  @Test
  void noIdentitySource_saysHowToGiveOne() {
    // The environment may carry SPIFFE_ENDPOINT_SOCKET; the parser is tested directly for that case.
    Result r = run(serve("--workload-api-wait", "0s"));
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).containsAnyOf("--workload-api: no identity source", "no SPIRE agent socket");
  }

  @Test
  void help_explainsTheSecretNamesAndExitStatus() {
    Result r = run("serve", "--help");
    assertThat(r.status()).isZero();
    assertThat(r.out()).contains("default, ROOTCA, ALL", "--workload-api", "--dev", "Exit status");
  }

  @Test
  void regularFileAtSocketPath_isRefusedWithoutTouchingIt() throws Exception {
    Path file = dir.resolve("sds.sock");
    Files.writeString(file, "keep me");
    Result r = run(serve("--dev"));
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("--sds-socket");
    assertThat(Files.readString(file)).isEqualTo("keep me");
  }
}
