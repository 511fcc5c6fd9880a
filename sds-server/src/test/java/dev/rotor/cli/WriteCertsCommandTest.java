package dev.rotor.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.identity.Pem;
import dev.rotor.identity.Svid;
import dev.rotor.runtime.ServeConfig;
import dev.rotor.runtime.ServeRuntime;
import dev.rotor.runtime.WriteCertsRuntime;
import dev.rotor.testing.TestPki;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** {@code rotor write-certs} end to end, and {@code rotor serve --helper-config}. */
class WriteCertsCommandTest {

  @TempDir Path dir;

  private record Result(int status, String out, String err) {}

  private Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = RotorMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(status, out.toString(), err.toString());
  }

  private String[] writeCerts(String... more) throws IOException {
    Path certs = Files.createDirectories(dir.resolve("certs"));
    List<String> a = new ArrayList<>(List.of("write-certs", "--cert-dir", certs.toString(),
        "--svid-file-name", "server.crt", "--svid-key-file-name", "server.key", "--svid-bundle-file-name", "root.crt"));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "bad mode           | --dev --key-file-mode rw------- | --key-file-mode: \"rw-------\" is not an octal file mode",
      "bad signal         | --dev --pid-file-name /run/x.pid --renew-signal SIGNOPE | --renew-signal: \"SIGNOPE\" is not a signal name",
      "signal missing     | --dev --cmd /bin/true                | --renew-signal: required with cmd",
      "both sources       | --dev --agent-address /run/a.sock  | --dev: cannot be combined with --agent-address",
      "dev-only flag      | --agent-address /run/a.sock --svid-ttl 1m | --svid-ttl: only with --dev",
      "jwt with dev CA    | --dev --jwt-svid db=db.token        | jwt_svids: not available here (--dev: the development CA issues X.509-SVIDs only)",
      "jwt flag form      | --jwt-svid db                       | --jwt-svid: \"db\" (expected AUDIENCE=FILE or AUDIENCE,EXTRA_AUDIENCE=FILE)",
      "owner              | --dev --key-file-owner postgres     | --key-file-owner: \"postgres\" is not an owner",
      "same names         | --dev --pkcs8-der-key-file-name server.key | --pkcs8-der-key-file-name: \"server.key\" is also svid_key_file_name",
      "missing config     | --dev --config /nonexistent/helper.conf | --config: cannot read /nonexistent/helper.conf (no such file)",
      "bad timeout        | --dev --one-shot --timeout 2h       | --timeout: 2h (expected: between 0s and 1h)",
  })
  void badInput_isOneLineNamingTheFlag_exit2(String defect, String args, String expected) throws IOException {
    Result r = run(writeCerts(args.trim().split("\\s+")));
    assertThat(r.status()).as(defect + ": " + r.err()).isEqualTo(2);
    assertThat(r.err()).as(defect).startsWith("rotor write-certs: ").contains(expected.trim());
    assertThat(r.err().strip().lines().count()).as(defect + ": one line: " + r.err()).isEqualTo(1);
    assertThat(dir.resolve("certs")).isEmptyDirectory();
  }

  @Test
  void configFileErrors_nameTheFileLineAndKey() throws IOException {
    Path certs = Files.createDirectories(dir.resolve("certs"));
    Path conf = Files.writeString(dir.resolve("helper.conf"), "cert_dir = \"" + certs + "\"\n"
        + "svid_file_name = \"a\"\nsvid_key_file_name = \"b\"\nsvid_bundle_file_name = \"c\"\n"
        + "renew_signal = \"SIGHUP\"\nhealth_checks {\n  bind_port = 8081\n");
    Result r = run("write-certs", "--dev", "--config", conf.toString());
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("rotor write-certs: " + conf + ":8:1: HCL syntax error: unexpected end of"
        + " file: a '{' opened on line 6 is never closed");
  }

  @Test
  void oneShot_agentSocketMissing_waitsOnlyTheShortDefault_thenOneClearError() throws IOException {
    Path socket = dir.resolve("agent.sock");
    long start = System.nanoTime();
    Result r = run(writeCerts("--one-shot", "--agent-address", "unix://" + socket));
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err().strip()).isEqualTo("rotor write-certs: --agent-address: no SPIRE agent socket at " + socket
        + " after 5s (start the agent, mount its socket, fix the address, or raise --workload-api-wait)");
    assertThat(took).isBetween(Duration.ofMillis(4900), Duration.ofSeconds(15));
    assertThat(dir.resolve("certs")).isEmptyDirectory();
  }

  @Test
  void oneShot_agentSocketMissing_withNoWait_failsAtOnce_asSpiffeHelper() throws IOException {
    Path socket = dir.resolve("agent.sock");
    long start = System.nanoTime();
    Result r = run(writeCerts("--one-shot", "--agent-address", socket.toString(), "--workload-api-wait", "0s"));
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err().strip()).isEqualTo("rotor write-certs: --agent-address: no SPIRE agent socket at " + socket
        + " (start the agent, mount its socket, fix the address, or raise --workload-api-wait)");
    assertThat(took).isLessThan(Duration.ofSeconds(2));
  }

  @Test
  void spiffeHelpersOwnCommandLine_worksWithOnlyTheBinaryChanged() throws Exception {
    // What a container ran: spiffe-helper -config /etc/helper.conf -daemon-mode=false
    Path socket = dir.resolve("agent.sock");
    Path certs = Files.createDirectories(dir.resolve("certs"));
    Path conf = Files.writeString(dir.resolve("helper.conf"), "agent_address = \"" + socket + "\"\n"
        + "cert_dir = \"" + certs + "\"\nsvid_file_name = \"svid.pem\"\nsvid_key_file_name = \"svid_key.pem\"\n"
        + "svid_bundle_file_name = \"svid_bundle.pem\"\n");
    TestPki pki = TestPki.forTrustDomain("example.org");
    Svid svid = pki.issue("/db");
    try (UnixSocketAgent agent = new UnixSocketAgent(socket, svid, pki.bundle())) {
      for (String daemonFalse : List.of("-daemon-mode=false", "-daemon-mode=0", "--daemon-mode=false")) {
        Result r = run("write-certs", "-config", conf.toString(), daemonFalse);
        assertThat(r.status()).as(daemonFalse + ": " + r.err()).isZero();
        assertThat(r.out()).as(daemonFalse).contains("wrote svid.pem, svid_key.pem, svid_bundle.pem");
      }
      Result equals = run("write-certs", "-config=" + conf, "-daemon-mode=false");
      assertThat(equals.status()).as(equals.err()).isZero();
    }
    assertThat(Files.readAllBytes(certs.resolve("svid.pem"))).isEqualTo(Pem.certificates(svid.chain()));
  }

  @Test
  void dashVersion_printsTheVersion_exit0() {
    Result r = run("write-certs", "-version");
    assertThat(r.status()).isZero();
    assertThat(r.out().strip()).startsWith("rotor ");
  }

  @Test
  void badGoBool_isOneLineNamingTheFlag() {
    Result r = run("write-certs", "-daemon-mode=maybe");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err().strip()).contains("\"maybe\" is not a boolean (expected true or false)")
        .contains("-daemon-mode");
  }

  @Test
  void noConfigAndNoSettings_readsHelperConfInTheWorkingDirectory_asSpiffeHelper() throws IOException {
    Path certs = Files.createDirectories(dir.resolve("certs"));
    Files.writeString(dir.resolve("helper.conf"), "cert_dir = \"certs\"\nsvid_file_name = \"a\"\n"
        + "svid_key_file_name = \"b\"\nsvid_bundle_file_name = \"c\"\n");
    WriteCertsCommand c = new WriteCertsCommand();
    new CommandLine(c).parseArgs("-daemon-mode=false");
    WriteCertsRuntime.Options o = c.options(Map.of(), dir);
    assertThat(o.helper().certDir()).isEqualTo(certs);
    assertThat(o.helper().daemonMode()).isFalse();
  }

  @Test
  void noConfigNoSettingsAndNoHelperConf_isOneLineSayingWhatToGive() {
    WriteCertsCommand c = new WriteCertsCommand();
    new CommandLine(c).parseArgs();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> c.options(Map.of(), dir))
        .isInstanceOf(UsageException.class)
        .hasMessage("--config: not given, and ./helper.conf (spiffe-helper's default) does not exist in " + dir
            + " (give --config FILE, or the settings as flags: --cert-dir, --svid-file-name, ...; see rotor write-certs"
            + " --help)");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      // case                       | agent_address in the file | SPIRE_AGENT_ADDRESS | SPIFFE_ENDPOINT_SOCKET | used          | source
      "the file wins                | /file.sock                | /spire.sock         | /spiffe.sock           | /file.sock    | helper.conf:1: agent_address",
      "SPIRE_AGENT_ADDRESS next     |                           | /spire.sock         | /spiffe.sock           | error         | ",
      "SPIRE_AGENT_ADDRESS alone    |                           | /spire.sock         |                        | /spire.sock   | SPIRE_AGENT_ADDRESS",
      "both, the same address       |                           | /same.sock          | /same.sock             | /same.sock    | SPIRE_AGENT_ADDRESS",
      "SPIFFE_ENDPOINT_SOCKET alone |                           |                     | unix:///spiffe.sock    | /spiffe.sock  | SPIFFE_ENDPOINT_SOCKET",
      "nothing: the default         |                           |                     |                        | /tmp/spire-agent/public/api.sock | agent_address (default)",
  })
  void agentAddress_followsSpiffeHelpersOrder(String name, String file, String spire, String spiffe, String used,
      String source) throws IOException {
    Path certs = Files.createDirectories(dir.resolve("certs"));
    Path conf = Files.writeString(dir.resolve("helper.conf"), (file == null ? "\n" : "agent_address = \"" + file
        + "\"\n") + "cert_dir = \"" + certs + "\"\njwt_bundle_file_name = \"jwt.json\"\n");
    Map<String, String> env = new java.util.HashMap<>();
    if (spire != null) {
      env.put("SPIRE_AGENT_ADDRESS", spire);
    }
    if (spiffe != null) {
      env.put("SPIFFE_ENDPOINT_SOCKET", spiffe);
    }
    WriteCertsCommand c = new WriteCertsCommand();
    new CommandLine(c).parseArgs("--config", conf.toString());
    if (used.equals("error")) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> c.options(env, dir))
          .isInstanceOf(UsageException.class)
          .hasMessage("SPIRE_AGENT_ADDRESS and SPIFFE_ENDPOINT_SOCKET name different agents (\"/spire.sock\","
              + " \"/spiffe.sock\"); unset one, or set agent_address (spiffe-helper refuses both too)");
      return;
    }
    WriteCertsRuntime.Options o = c.options(env, dir);
    assertThat(o.helper().agentAddress()).isEqualTo(dev.rotor.source.workload.WorkloadApiAddress.parse(used));
    assertThat(o.helper().agentAddressSource()).isEqualTo(source.replace("helper.conf", conf.toString()));
  }

  @Test
  void oneShot_agentAppearsLate_filesAreWritten_exit0() throws Exception {
    Path socket = dir.resolve("agent.sock");
    TestPki pki = TestPki.forTrustDomain("example.org");
    Svid svid = pki.issue("/db");
    String[] args = writeCerts("--one-shot", "--agent-address", socket.toString(), "--timeout", "20s",
        "--pkcs8-der-key-file-name", "server.pk8", "--pkcs12-file-name", "server.p12");
    CompletableFuture<Result> running = CompletableFuture.supplyAsync(() -> run(args));
    Thread.sleep(300); // the command is waiting for the socket
    try (UnixSocketAgent agent = new UnixSocketAgent(socket, svid, pki.bundle())) {
      Result r = running.get(30, TimeUnit.SECONDS);
      assertThat(r.status()).as(r.err()).isZero();
      assertThat(r.out()).contains("wrote server.crt, server.key, root.crt, server.pk8, server.p12");
    }
    Path certs = dir.resolve("certs");
    assertThat(Files.readAllBytes(certs.resolve("server.crt"))).isEqualTo(Pem.certificates(svid.chain()));
    assertThat(Files.readAllBytes(certs.resolve("server.key"))).isEqualTo(Pem.privateKey(svid.privateKey()));
    assertThat(Files.readAllBytes(certs.resolve("root.crt"))).isEqualTo(Pem.certificates(pki.bundle().authorities()));
    assertThat(Files.readAllBytes(certs.resolve("server.pk8"))).isEqualTo(svid.privateKey().getEncoded());
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(certs.resolve("server.p12"))) {
      ks.load(in, "changeit".toCharArray());
    }
    assertThat(ks.getKey("user", "changeit".toCharArray())).isEqualTo(svid.privateKey());
    assertThat(Files.isSymbolicLink(certs.resolve("server.key"))).isTrue();
  }

  @Test
  void oneShot_jwtSvidAndX509_fromTheAgent() throws Exception {
    Path socket = dir.resolve("agent.sock");
    TestPki pki = TestPki.forTrustDomain("example.org");
    Svid svid = pki.issue("/db");
    String token = UnixSocketAgent.jwt("spiffe://example.org/db", "db", java.time.Instant.now().plusSeconds(600));
    try (UnixSocketAgent agent = new UnixSocketAgent(socket, svid, pki.bundle(), token)) {
      Result r = run(writeCerts("--one-shot", "--agent-address", socket.toString(), "--timeout", "20s",
          "--jwt-svid", "db=db.token", "--jwt-bundle-file-name", "jwt_bundle.json"));
      assertThat(r.status()).as(r.err()).isZero();
      assertThat(r.out()).contains("wrote server.crt, server.key, root.crt, db.token, jwt_bundle.json");
    }
    assertThat(Files.readString(dir.resolve("certs/db.token"))).isEqualTo(token);
    assertThat(Files.readString(dir.resolve("certs/jwt_bundle.json"))).startsWith("{\"example.org\":\"");
    assertThat(Files.readAllBytes(dir.resolve("certs/server.crt"))).isEqualTo(Pem.certificates(svid.chain()));
  }

  @Test
  void serve_helperConfigWithJwt_isRefused() throws IOException {
    Path certs = Files.createDirectories(dir.resolve("certs"));
    Path conf = Files.writeString(dir.resolve("helper.conf"), "cert_dir = \"" + certs + "\"\n"
        + "jwt_bundle_file_name = \"jwt.json\"\n");
    Result r = run("serve", "--dev", "--sds-socket", dir.resolve("sds.sock").toString(), "--helper-config",
        conf.toString());
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("rotor serve: --helper-config: jwt_bundle_file_name: not available here"
        + " (rotor serve writes the X.509 files it serves; run rotor write-certs for JWT files)");
  }

  @Test
  void oneShot_devCa_writesAPostgresReadyCertificate() throws Exception {
    Result r = run(writeCerts("--one-shot", "--dev", "--dns-name", "db.local", "--svid-ttl", "1m",
        "--spiffe-id", "spiffe://example.org/db"));
    assertThat(r.status()).as(r.err()).isZero();
    X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(Files.newInputStream(dir.resolve("certs/server.crt")));
    assertThat(leaf.getSubjectX500Principal().getName()).contains("CN=db.local");
    assertThat(Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
        .isLessThanOrEqualTo(Duration.ofSeconds(95));
    assertThat(Files.getPosixFilePermissions(dir.resolve("certs/server.key")))
        .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
  }

  @Test
  void keyFileMode0666_givesAFileNobodyElseCanWrite_asSpiffeHelperUnderUmask022() throws Exception {
    Result r = run(writeCerts("--one-shot", "--dev", "--key-file-mode", "0666", "--cert-file-mode", "0666"));
    assertThat(r.status()).as(r.err()).isZero();
    for (String name : List.of("server.key", "server.crt", "root.crt")) {
      Set<java.nio.file.attribute.PosixFilePermission> p = Files.getPosixFilePermissions(dir.resolve("certs/" + name));
      assertThat(p).as(name).doesNotContain(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE,
          java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE).contains(
          java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
    }
  }

  @Test
  void daemonRuntime_keepsWriting_andServesHealth() throws Exception {
    WriteCertsCommand c = new WriteCertsCommand();
    String[] args = writeCerts("--dev", "--health-checks", "--health-bind-port", "0",
        "--reload-cmd", "sh -c \"echo reload >> " + dir.resolve("reloads") + "\"");
    new CommandLine(c).parseArgs(java.util.Arrays.copyOfRange(args, 1, args.length)); // without "write-certs"
    WriteCertsRuntime.Options o = c.options(Map.of(), dir);
    // bind_port 0 means spiffe-helper's default 8081, which may be taken here: use a free port.
    int port;
    try (var s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    dev.rotor.files.HelperConfig h = o.helper();
    dev.rotor.files.HelperConfig withPort = new dev.rotor.files.HelperConfig(h.agentAddress(), h.certDir(), h.x509(),
        h.jwtSvids(), h.jwtBundleFileName(), h.files(), h.reload(), h.daemonMode(),
        new dev.rotor.files.HelperConfig.HealthChecks(true, "127.0.0.1", port, "/live", "/ready"), h.hint());
    try (WriteCertsRuntime rt = WriteCertsRuntime.start(new WriteCertsRuntime.Options(withPort, o.dev(),
        o.gatePolicy()))) {
      rt.writer().firstWrite().get(20, TimeUnit.SECONDS);
      assertThat(rt.writer().healthPort()).contains(port);
      var http = java.net.http.HttpClient.newHttpClient();
      var ready = http.send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + port + "/ready")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(ready.statusCode()).isEqualTo(200);
      await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(dir.resolve("reloads")));
    }
  }

  @Test
  void serve_withHelperConfig_writesWhatItServes() throws Exception {
    Path certs = Files.createDirectories(dir.resolve("certs"));
    Path conf = Files.writeString(dir.resolve("helper.conf"), "cert_dir = \"" + certs + "\"\n"
        + "svid_file_name = \"svid.pem\"\nsvid_key_file_name = \"svid_key.pem\"\n"
        + "svid_bundle_file_name = \"svid_bundle.pem\"\n");
    ServeCommand c = new ServeCommand();
    new CommandLine(c).parseArgs("--dev", "--sds-socket", dir.resolve("sds.sock").toString(),
        "--helper-config", conf.toString());
    // The file writer's agent variables mean nothing to serve, even when spiffe-helper would refuse them.
    ServeConfig config = ServeConfigParser.parse(c, Map.of("SPIRE_AGENT_ADDRESS", "/a.sock",
        "SPIFFE_ENDPOINT_SOCKET", "/b.sock"));
    assertThat(config.fileWriter()).isPresent();
    try (ServeRuntime rt = ServeRuntime.start(config)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(certs.resolve("svid.pem")));
      X509Certificate written = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(Files.newInputStream(certs.resolve("svid.pem")));
      assertThat(rt.gate().status().current().orElseThrow().defaultSvid().orElseThrow().leaf()).isEqualTo(written);
    }
  }

  @Test
  void serve_badHelperConfig_namesTheFlag() throws IOException {
    Path conf = Files.writeString(dir.resolve("helper.conf"), "cert_dir = \"/nonexistent\"\n");
    Result r = run("serve", "--dev", "--sds-socket", dir.resolve("sds.sock").toString(), "--helper-config",
        conf.toString());
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err().strip()).isEqualTo("rotor serve: --helper-config: " + conf + ":1: cert_dir: /nonexistent does"
        + " not exist (create the directory first; Rotor does not create it)");
  }
}
