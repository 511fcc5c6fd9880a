package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.files.HelperConfig.HealthChecks;
import dev.rotor.files.HelperConfig.JwtSvidOutput;
import dev.rotor.files.HelperConfig.X509Output;
import dev.rotor.files.HelperConfigParser.Flag;
import dev.rotor.source.workload.WorkloadApiAddress;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * helper.conf as spiffe-helper reads it: every key, its default, each bad input with the exact
 * one-line message, and spiffe-helper's own example files unchanged.
 */
class HelperConfigParserTest {

  /** cert_dir and the three X.509 names: lines 1 to 4, so a case's first line is line 5. */
  private static final String BASE = """
      cert_dir = "certs"
      svid_file_name = "svid.pem"
      svid_key_file_name = "svid_key.pem"
      svid_bundle_file_name = "svid_bundle.pem"
      """;

  @TempDir Path work;

  @BeforeEach
  void certDir() throws IOException {
    Files.createDirectories(work.resolve("certs"));
  }

  /** Parsed as under the usual umask 022, whatever this build's umask is. */
  private HelperConfig parse(String text) {
    return HelperConfigParser.parse(text, "helper.conf", Map.of(), Map.of(), work, 0022);
  }

  private HelperConfig parse(String text, Map<String, Flag> flags) {
    return HelperConfigParser.parse(text, "helper.conf", flags, Map.of(), work, 0022);
  }

  @ParameterizedTest(name = "{0} under umask {1}")
  @CsvSource({
      // configured, umask, key file gets (spiffe-helper: configured & ~umask), cert file gets
      "0666, 0022, 0644, 0644",
      "0666, 0000, 0644, 0644",   // spiffe-helper: 0666; Rotor never makes a file group/world-writable
      "0660, 0002, 0640, 0640",
      "0600, 0077, 0600, 0600",
      "0644, 0077, 0600, 0600",   // as spiffe-helper: the umask takes what it takes
      "0640, 0027, 0640, 0640",
      "0400, 0022, 0400, 0400",
  })
  void modes_areTheConfiguredLessTheUmask_andNeverGroupOrWorldWritable(String configured, String umask, String key,
      String cert) {
    HelperConfig c = HelperConfigParser.parse(BASE + "key_file_mode = " + configured + "\ncert_file_mode = "
        + configured + "\njwt_svid_file_mode = " + configured + "\njwt_bundle_file_mode = " + configured + "\n",
        "helper.conf", Map.of(), Map.of(), work, Integer.parseInt(umask, 8));
    assertThat(FileSpec.octal(c.files().keyFileMode())).isEqualTo(key);
    assertThat(FileSpec.octal(c.files().certFileMode())).isEqualTo(cert);
    assertThat(FileSpec.octal(c.files().jwtSvidFileMode())).isEqualTo(key);
    assertThat(FileSpec.octal(c.files().jwtBundleFileMode())).isEqualTo(cert);
  }

  @Test
  void keyModeOpenToOthers_warnsOncePerKey_namingTheLineAndTheFix() {
    try (Logs logs = new Logs(HelperConfigParser.class)) {
      HelperConfigParser.parse(BASE + "key_file_mode = 0666\n", "helper.conf", Map.of(), Map.of(), work, 0);
      assertThat(logs.atLeast(ch.qos.logback.classic.Level.WARN)).containsExactly(
          "WARN helper.conf:5: key_file_mode: 0666 lets group or others write the files; Rotor never creates a file"
              + " that group or others can write: they get 0644 (docs/file-writer.md, \"Modes and owners\")",
          "WARN helper.conf:5: key_file_mode: 0644 lets every user on this machine read the private key; use 0600, or"
              + " 0640 with a group that only its readers are in (key_file_owner)");
    }
  }

  @Test
  void defaultModes_andAGroupReadableKey_warnNothing() {
    try (Logs logs = new Logs(HelperConfigParser.class)) {
      parse(BASE);
      parse(BASE + "key_file_mode = 0640\n");
      parse(BASE + "cert_file_mode = 0644\n");
      assertThat(logs.atLeast(ch.qos.logback.classic.Level.WARN)).isEmpty();
    }
  }

  @Test
  void umask_isReadFromProcStatus() {
    assertThat(Umask.parse(List.of("Name:\tjava", "Umask:\t0027", "State:\tR"))).contains(0027);
    assertThat(Umask.parse(List.of("Name:\tjava"))).isEmpty();
    assertThat(Umask.ofThisProcess()).isBetween(0, 0777);
  }

  @Test
  void minimalFile_getsSpiffeHelpersDefaults() {
    HelperConfig c = parse(BASE);
    assertThat(c.agentAddress()).isEqualTo(new WorkloadApiAddress.Unix(Path.of("/tmp/spire-agent/public/api.sock")));
    assertThat(c.certDir()).isEqualTo(work.resolve("certs"));
    X509Output x = c.x509().orElseThrow();
    assertThat(x.svidFileName()).isEqualTo("svid.pem");
    assertThat(x.keyFileName()).isEqualTo("svid_key.pem");
    assertThat(x.bundleFileName()).isEqualTo("svid_bundle.pem");
    assertThat(x.addIntermediatesToBundle()).isFalse();
    assertThat(x.includeFederatedDomains()).isFalse();
    assertThat(x.omitExpired()).isFalse();
    assertThat(x.pkcs8DerKeyFileName()).isEmpty();
    assertThat(x.pkcs12()).isEmpty();
    assertThat(c.files()).isEqualTo(new HelperConfig.FileSettings(0644, 0600, 0600, 0600, Optional.empty(),
        Optional.empty()));
    assertThat(c.reload()).isEqualTo(HelperConfig.Reload.none());
    assertThat(c.daemonMode()).isTrue();
    assertThat(c.healthChecks()).isEqualTo(new HealthChecks(false, "127.0.0.1", 8081, "/live", "/ready"));
    assertThat(c.hint()).isEmpty();
    assertThat(c.jwtSvids()).isEmpty();
    assertThat(c.jwtBundleFileName()).isEmpty();
  }

  @Test
  void everyKey_isRead() throws IOException {
    Path password = Files.writeString(work.resolve("p12.pass"), "s3cret\n");
    HelperConfig c = parse("""
        agent_address = "unix:///run/spire/agent.sock"
        cmd = "/usr/lib/postgresql/16/bin/postgres"
        cmd_args = "-D /var/lib/postgresql/data -c \\"ssl=on\\""
        pid_file_name = "/run/postgresql/postmaster.pid"
        renew_signal = "SIGHUP"
        cert_dir = "certs"
        svid_file_name = "server.crt"
        svid_key_file_name = "server.key"
        svid_bundle_file_name = "root.crt"
        add_intermediates_to_bundle = true
        include_federated_domains = true
        omit_expired = true
        cert_file_mode = 0640
        key_file_mode = "0400"
        jwt_svids = [
          { jwt_audience = "db", jwt_extra_audiences = ["a", "b"], jwt_svid_file_name = "db.token" },
          {
            jwt_audience = "api"
            jwt_svid_file_name = "api.token"
          },
        ]
        jwt_bundle_file_name = "jwt_bundle.json"
        jwt_bundle_file_mode = 0644
        jwt_svid_file_mode = 0640
        hint = "internal"
        daemon_mode = true
        health_checks {
          listener_enabled = true
          bind_port = 9081
          liveness_path = "/healthz"
          readiness_path = "/readyz"
          bind_address = "0.0.0.0"
        }
        # Rotor's extensions
        cert_file_owner = "999:999"
        key_file_owner = "999"
        pkcs8_der_key_file_name = "server.pk8"
        pkcs12_file_name = "server.p12"
        pkcs12_password_file = "p12.pass"
        reload_cmd = "psql -c \\"SELECT pg_reload_conf()\\""
        reload_cmd_timeout = "10s"
        """);
    assertThat(c.agentAddress()).isEqualTo(new WorkloadApiAddress.Unix(Path.of("/run/spire/agent.sock")));
    assertThat(c.reload().cmd()).contains("/usr/lib/postgresql/16/bin/postgres");
    assertThat(c.reload().cmdArgs()).containsExactly("-D", "/var/lib/postgresql/data", "-c", "ssl=on");
    assertThat(c.reload().pidFile()).contains(Path.of("/run/postgresql/postmaster.pid"));
    assertThat(c.reload().renewSignal()).contains(new RenewSignal("SIGHUP"));
    assertThat(c.reload().reloadCmd()).containsExactly("psql", "-c", "SELECT pg_reload_conf()");
    assertThat(c.reload().reloadCmdTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.x509()).contains(new X509Output("server.crt", "server.key", "root.crt", true, true, true,
        Optional.of("server.pk8"), Optional.of(new HelperConfig.Pkcs12Output("server.p12", Optional.of(password)))));
    assertThat(c.files()).isEqualTo(new HelperConfig.FileSettings(0640, 0400, 0644, 0640,
        Optional.of(FileOwner.parse("999:999")), Optional.of(FileOwner.parse("999"))));
    assertThat(c.jwtSvids()).containsExactly(
        new JwtSvidOutput("db", List.of("a", "b"), "db.token"),
        new JwtSvidOutput("api", List.of(), "api.token"));
    assertThat(c.jwtBundleFileName()).contains("jwt_bundle.json");
    assertThat(c.hint()).isEqualTo("internal");
    assertThat(c.daemonMode()).isTrue();
    assertThat(c.healthChecks()).isEqualTo(new HealthChecks(true, "0.0.0.0", 9081, "/healthz", "/readyz"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "leading zero              | 0644      | 420",
      "quoted                    | \"0644\"  | 420",
      "0o prefix                 | 0o640     | 416",
      "zero means the default    | 0         | 420",
      "quoted zero               | \"0\"     | 420",
      "read-only for all         | 0444      | 292",
      "nothing                   | 00        | 0",
  })
  void certFileMode_forms(String form, String literal, int expected) {
    assertThat(parse(BASE + "cert_file_mode = " + literal.trim() + "\n").files().certFileMode())
        .as(form).isEqualTo(expected);
  }

  @Test
  void agentAddress_defaultsToTheEnvironment() {
    HelperConfig c = HelperConfigParser.parse(BASE, "helper.conf", Map.of(),
        Map.of("SPIFFE_ENDPOINT_SOCKET", "unix:///run/agent.sock"), work);
    assertThat(c.agentAddress()).isEqualTo(new WorkloadApiAddress.Unix(Path.of("/run/agent.sock")));
  }

  @Test
  void agentAddress_bareOrUri() {
    assertThat(parse(BASE + "agent_address = \"/run/a.sock\"\n").agentAddress())
        .isEqualTo(new WorkloadApiAddress.Unix(Path.of("/run/a.sock")));
  }

  @Test
  void jwtSvids_asRepeatedBlocks() {
    HelperConfig c = parse(BASE + """
        jwt_svids {
          jwt_audience = "a"
          jwt_svid_file_name = "a.token"
        }
        jwt_svids {
          jwt_audience = "b"
          jwt_svid_file_name = "b.token"
        }
        """);
    assertThat(c.jwtSvids()).extracting(JwtSvidOutput::audience).containsExactly("a", "b");
  }

  @Test
  void commentsOfEveryKind_andCrlf() {
    HelperConfig c = parse("# hash\r\n// slashes\r\n/* block\r\n comment */ cert_dir = \"certs\" // trailing\r\n"
        + "svid_file_name = \"a.pem\"\r\nsvid_key_file_name = \"b.pem\"\r\nsvid_bundle_file_name = \"c.pem\" # x\r\n");
    assertThat(c.x509().orElseThrow().svidFileName()).isEqualTo("a.pem");
  }

  @Test
  void flags_overrideTheFile() {
    Map<String, Flag> flags = new LinkedHashMap<>();
    flags.put("cert_file_mode", new Flag("--cert-file-mode", "0600"));
    flags.put("omit_expired", new Flag("--omit-expired", true));
    flags.put("health_checks.bind_port", new Flag("--health-bind-port", "9000"));
    flags.put("daemon_mode", new Flag("--one-shot", false));
    flags.put("jwt_svids", new Flag("--jwt-svid", List.of("db,extra=db.token")));
    HelperConfig c = parse(BASE + "cert_file_mode = 0644\nhealth_checks {\n  listener_enabled = true\n}\n", flags);
    assertThat(c.files().certFileMode()).isEqualTo(0600);
    assertThat(c.x509().orElseThrow().omitExpired()).isTrue();
    assertThat(c.healthChecks().listenerEnabled()).isTrue();
    assertThat(c.healthChecks().bindPort()).isEqualTo(9000);
    assertThat(c.daemonMode()).isFalse();
    assertThat(c.jwtSvids()).containsExactly(new JwtSvidOutput("db", List.of("extra"), "db.token"));
  }

  @Test
  void flagErrors_nameTheFlag() {
    assertThatThrownBy(() -> parse(BASE, Map.of("key_file_mode", new Flag("--key-file-mode", "u=rw"))))
        .hasMessage("--key-file-mode: \"u=rw\" is not an octal file mode (expected e.g. 0600)");
  }

  @Test
  void flagsAlone_needNoFile() {
    HelperConfig c = HelperConfigParser.fromFlags(Map.of(
        "cert_dir", new Flag("--cert-dir", "certs"),
        "svid_file_name", new Flag("--svid-file-name", "a.pem"),
        "svid_key_file_name", new Flag("--svid-key-file-name", "a.key"),
        "svid_bundle_file_name", new Flag("--svid-bundle-file-name", "ca.pem")), Map.of(), work);
    assertThat(c.x509().orElseThrow().keyFileName()).isEqualTo("a.key");
  }

  @Test
  void spiffeHelpersEnvoyExample_parsesUnchanged() throws IOException {
    Files.createDirectories(work.resolve("certs"));
    HelperConfig c = parse(fixture("spiffe-helper-envoy.conf"));
    assertThat(c.reload().cmd()).contains("hot-restarter.py");
    assertThat(c.reload().cmdArgs()).containsExactly("start_envoy.sh");
    assertThat(c.reload().renewSignal()).contains(new RenewSignal("SIGHUP"));
    assertThat(c.certDir()).isEqualTo(work.resolve("certs"));
    assertThat(c.x509().orElseThrow().fileNames()).containsExactly("svid.pem", "svid_key.pem", "svid_bundle.pem");
  }

  @Test
  void spiffeHelpersPostgresExample_parsesUnchanged_withCertDirFromAFlag() throws IOException {
    // Its cert_dir, /run/postgresql/certs, does not exist on a build machine; the text is unchanged.
    HelperConfig c = parse(fixture("spiffe-helper-postgres-it.conf"),
        Map.of("cert_dir", new Flag("--cert-dir", work.resolve("certs").toString())));
    assertThat(c.agentAddress()).isEqualTo(new WorkloadApiAddress.Unix(Path.of("/run/spire/api.sock")));
    assertThat(c.reload().cmdArgs()).containsExactly("-D", "/var/lib/postgresql/data", "-c",
        "config_file=/var/lib/postgresql/data/postgresql.conf");
    assertThat(c.x509().orElseThrow().fileNames()).containsExactly("server.crt", "server.key", "root.crt");
  }

  @Test
  void spiffeHelpersMysqlExample_cmdWithoutSignal_pointsToReloadCmd() throws IOException {
    assertThatThrownBy(() -> parse(fixture("spiffe-helper-mysql-example.conf"),
        Map.of("cert_dir", new Flag("--cert-dir", work.resolve("certs").toString()))))
        .hasMessageStartingWith("helper.conf:11: renew_signal: required with cmd")
        .hasMessageContaining("use reload_cmd instead of cmd");
  }

  /** Each defect: the lines added after {@link #BASE} (or a whole file after FULL:), and the exact message. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "mode not octal          | cert_file_mode = \"rw-r--r--\" "
          + "| helper.conf:5: cert_file_mode: \"rw-r--r--\" is not an octal file mode (expected e.g. 0644)",
      "mode without leading 0  | key_file_mode = 600 "
          + "| helper.conf:5: key_file_mode: 600 is not an octal file mode: write it with a leading 0 (0600);"
          + " without it spiffe-helper reads the number as decimal",
      "mode with a 9           | cert_file_mode = 0999 "
          + "| helper.conf:5: cert_file_mode: \"0999\" is not an octal file mode (expected e.g. 0644)",
      "mode with setuid        | cert_file_mode = 04755 "
          + "| helper.conf:5: cert_file_mode: 04755 has bits beyond 0777 (expected permission bits only, e.g. 0644)",
      "mode as a boolean       | jwt_svid_file_mode = true "
          + "| helper.conf:5: jwt_svid_file_mode: a boolean (expected an octal file mode, e.g. 0600)",
      "unknown signal          | renew_signal = \"SIGFOO\" "
          + "| helper.conf:5: renew_signal: \"SIGFOO\" is not a signal name (expected one of SIGHUP, SIGUSR1,"
          + " SIGUSR2, SIGTERM, ... as kill -l lists them)",
      "pid file without signal | pid_file_name = \"/run/app.pid\" "
          + "| helper.conf: renew_signal: required with pid_file_name (the signal to send to the process in the"
          + " pid file, e.g. renew_signal = \"SIGHUP\")",
      "cmd with empty signal   | cmd = \"/bin/app\"\\nrenew_signal = \"\" "
          + "| helper.conf:6: renew_signal: required with cmd (Rotor starts cmd once and sends it renew_signal after"
          + " each renewal, e.g. renew_signal = \"SIGHUP\"; to run a short command such as psql -c \"SELECT"
          + " pg_reload_conf()\" after each renewal, use reload_cmd instead of cmd)",
      "cmd_args without cmd    | cmd_args = \"-v\" "
          + "| helper.conf:5: cmd_args: only with cmd (cmd_args are the arguments of cmd)",
      "open quote in cmd_args  | cmd = \"/bin/app\"\\nrenew_signal = \"SIGHUP\"\\ncmd_args = \"-c \\\"x\" "
          + "| helper.conf:7: cmd_args: the double quote at position 4 is never closed",
      "two of three names      | FULL:cert_dir = \"certs\"\\nsvid_file_name = \"a\"\\nsvid_key_file_name = \"b\" "
          + "| helper.conf: svid_file_name, svid_key_file_name, svid_bundle_file_name: give all three or none"
          + " (missing: svid_bundle_file_name)",
      "nothing to write        | FULL:cert_dir = \"certs\" "
          + "| helper.conf: nothing to write (give svid_file_name, svid_key_file_name and svid_bundle_file_name,"
          + " or jwt_svids, or jwt_bundle_file_name)",
      "same name twice         | pkcs8_der_key_file_name = \"svid_key.pem\" "
          + "| helper.conf:5: pkcs8_der_key_file_name: \"svid_key.pem\" is also svid_key_file_name (expected a"
          + " different file name for each output)",
      "name with a slash       | pkcs12_file_name = \"keys/svid.p12\" "
          + "| helper.conf:5: pkcs12_file_name: \"keys/svid.p12\" is not a file name (expected a name inside"
          + " cert_dir, without '/'; set cert_dir to the directory)",
      "reserved name           | pkcs12_file_name = \"..data\" "
          + "| helper.conf:5: pkcs12_file_name: \"..data\": names starting with \"..\" are reserved for Rotor's"
          + " versioned directories (choose another name)",
      "password without p12    | pkcs12_password_file = \"/etc/pass\" "
          + "| helper.conf:5: pkcs12_password_file: only with pkcs12_file_name",
      "password file missing   | pkcs12_file_name = \"a.p12\"\\npkcs12_password_file = \"/nonexistent/pass\" "
          + "| helper.conf:6: pkcs12_password_file: /nonexistent/pass is not a readable file (create it with the"
          + " keystore password on its first line)",
      "der key without pem     | FULL:cert_dir = \"certs\"\\npkcs8_der_key_file_name = \"k.pk8\" "
          + "| helper.conf:2: pkcs8_der_key_file_name: only with svid_file_name, svid_key_file_name and"
          + " svid_bundle_file_name (the DER key and keystore are extra forms of the same SVID)",
      "bad owner               | key_file_owner = \"postgres\" "
          + "| helper.conf:5: key_file_owner: \"postgres\" is not an owner (expected numeric uid:gid, e.g. 999:999,"
          + " or uid, or :gid)",
      "one-shot with pid file  | daemon_mode = false\\npid_file_name = \"/run/a.pid\"\\nrenew_signal = \"SIGHUP\" "
          + "| helper.conf:6: pid_file_name: only in daemon mode (daemon_mode = false writes once and exits; remove"
          + " pid_file_name or daemon_mode = false)",
      "bool as a word          | omit_expired = \"yes\" "
          + "| helper.conf:5: omit_expired: \"yes\" (expected true or false)",
      "port out of range       | health_checks {\\n  bind_port = 70000\\n} "
          + "| helper.conf:6: health_checks.bind_port: 70000 (expected a port from 1 to 65535; 0 means the"
          + " default 8081)",
      "bind address not an IP  | health_checks {\\n  bind_address = \"my host\"\\n} "
          + "| helper.conf:6: health_checks.bind_address: \"my host\" is not an IP address (expected e.g."
          + " 127.0.0.1, or 0.0.0.0 for the probes of a kubelet)",
      "same health paths       | health_checks {\\n  liveness_path = \"/h\"\\n  readiness_path = \"/h\"\\n} "
          + "| helper.conf:7: health_checks.readiness_path: \"/h\" is also the liveness path (expected two"
          + " different paths)",
      "unknown health key      | health_checks {\\n  port = 1\\n} "
          + "| helper.conf:5: health_checks: unknown key \"port\" (line 6) (expected listener_enabled, bind_port,"
          + " liveness_path, readiness_path, bind_address)",
      "unknown key             | timeout = \"10s\" "
          + "| helper.conf: unknown key \"timeout\" (line 5) (docs/file-writer.md lists every key)",
      "misspelt key            | cert_file_mod = 0644\\nfoo = 1 "
          + "| helper.conf: unknown keys \"cert_file_mod\" (line 5, did you mean cert_file_mode?), \"foo\" (line 6)"
          + " (docs/file-writer.md lists every key)",
      "key set twice           | hint = \"a\"\\nhint = \"b\" "
          + "| helper.conf:6: hint: set twice (also on line 5; keep one)",
      "jwt without audience    | jwt_svids = [{ jwt_svid_file_name = \"a.token\" }] "
          + "| helper.conf:5: jwt_svids[0]: jwt_audience is required (the audience the JWT-SVID is for)",
      "jwt unknown key         | jwt_svids = [{ jwt_audience = \"a\", jwt_file_name = \"a.token\" }] "
          + "| helper.conf:5: jwt_svids[0]: unknown key \"jwt_file_name\" (line 5) (expected jwt_audience, jwt_extra_audiences, jwt_svid_file_name)",
      "reload timeout          | reload_cmd_timeout = \"forever\" "
          + "| helper.conf:5: reload_cmd_timeout: \"forever\" is not a duration (expected e.g. 30s or 2m)",
      "agent address           | agent_address = \"http://agent:8081\" "
          + "| helper.conf:5: agent_address: \"http://agent:8081\" is not a socket address (expected"
          + " unix:///absolute/path, /absolute/path or tcp://IP:PORT)",
      "HCL: double equals      | cert_file_mode = = 0644 "
          + "| helper.conf:5:18: HCL syntax error: expected a value, found '='",
      "HCL: unquoted string    | hint = internal "
          + "| helper.conf:5:8: HCL syntax error: expected a value, found internal (put strings in double quotes:"
          + " \"internal\")",
      "HCL: unclosed block     | health_checks {\\n  listener_enabled = true "
          + "| helper.conf:7:1: HCL syntax error: unexpected end of file: a '{' opened on line 5 is never closed",
      "HCL: stray brace        | } "
          + "| helper.conf:5:1: HCL syntax error: unexpected '}' (no block is open)",
      "HCL: unclosed string    | hint = \"abc "
          + "| helper.conf:5:12: HCL syntax error: the string is not closed on its line (missing '\"')",
      "HCL: two on a line      | hint = \"a\" omit_expired = true "
          + "| helper.conf:5:12: HCL syntax error: expected a new line after the value, found 'o'",
      "HCL: unclosed list      | jwt_svids = [ "
          + "| helper.conf:6:1: HCL syntax error: unexpected end of file: a '[' opened on line 5 is never closed",
  })
  void badInput_isOneLineNamingTheKeyAndTheFix(String defect, String lines, String expected) {
    String l = lines.trim().replace("\\n", "\n");
    String text = l.startsWith("FULL:") ? l.substring(5) + "\n" : BASE + l + "\n";
    assertThatThrownBy(() -> parse(text)).as(defect)
        .isInstanceOf(HelperConfigException.class)
        .hasMessage(expected.trim());
  }

  @Test
  void certDir_missing() {
    assertThatThrownBy(() -> parse(BASE.replace("\"certs\"", "\"nope\"")))
        .hasMessage("helper.conf:1: cert_dir: " + work.resolve("nope") + " does not exist (create the directory"
            + " first; Rotor does not create it)");
  }

  @Test
  void certDir_aFile() throws IOException {
    Files.writeString(work.resolve("file"), "x");
    assertThatThrownBy(() -> parse(BASE.replace("\"certs\"", "\"file\"")))
        .hasMessage("helper.conf:1: cert_dir: " + work.resolve("file") + " is not a directory");
  }

  @Test
  void certDir_unwritable() {
    // Tests may run as root, for whom permission bits do not stop a write; /proc refuses new files to anyone.
    assertThatThrownBy(() -> parse(BASE.replace("\"certs\"", "\"/proc/self\"")))
        .hasMessageStartingWith("helper.conf:1: cert_dir: /proc/self is not writable (")
        .hasMessageEndingWith("; run Rotor as a user that may create files there, or choose another cert_dir)");
  }

  @Test
  void certDir_othersCanWriteTo_isRefused_namingTheKeyTheDirectoryAndTheFix() throws IOException {
    Path certs = work.resolve("certs");
    Files.setAttribute(certs, "unix:mode", 0777);
    assertThatThrownBy(() -> parse(BASE))
        .hasMessage("helper.conf:1: cert_dir: " + certs + ": " + certs + " is writable by others (mode 0777). Another"
            + " user who can write there could delete or replace the files Rotor writes; make every directory on the"
            + " path owned by root or Rotor's user and not writable by group or others (chown, chmod go-w; chmod +t"
            + " for a shared directory such as /tmp), or accept that with allow_insecure_cert_dir = true"
            + " (--allow-insecure-cert-dir; docs/file-writer.md, \"Who may write to cert_dir\")");
  }

  @Test
  void certDir_othersCanWriteTo_acceptedWithAllowInsecureCertDir_andAWarning() throws IOException {
    Path certs = work.resolve("certs");
    Files.setAttribute(certs, "unix:mode", 0770);
    try (Logs logs = new Logs(HelperConfigParser.class)) {
      assertThat(parse(BASE + "allow_insecure_cert_dir = true\n").certDir()).isEqualTo(certs);
      assertThat(parse(BASE, Map.of("allow_insecure_cert_dir", new Flag("--allow-insecure-cert-dir", true)))
          .certDir()).isEqualTo(certs);
      assertThat(logs.atLeast(ch.qos.logback.classic.Level.WARN)).hasSize(2).allSatisfy(l -> assertThat(l)
          .startsWith("WARN ").contains(certs + " is writable by its group (mode 0770). Accepted because"
              + " allow_insecure_cert_dir is true"));
    }
  }

  @Test
  void certDir_emptyMeansTheWorkingDirectory() {
    assertThat(parse(BASE.replace("\"certs\"", "\"\"")).certDir()).isEqualTo(work);
  }

  @Test
  void configFile_missing() {
    assertThatThrownBy(() -> HelperConfigParser.parseFile(work.resolve("helper.conf"), Map.of(), Map.of()))
        .hasMessage(work.resolve("helper.conf") + ": cannot read the configuration file (no such file; check the path"
            + " given to --config)");
  }

  @Test
  void signalNames_shortAndLowerCaseToo() {
    String text = BASE + "pid_file_name = \"/run/a.pid\"\nrenew_signal = \"%s\"\n";
    assertThat(parse(String.format(text, "usr1")).reload().renewSignal()).contains(new RenewSignal("SIGUSR1"));
    assertThat(parse(String.format(text, "HUP")).reload().renewSignal()).contains(new RenewSignal("SIGHUP"));
  }

  @Test
  void docs_listEveryKey_withItsFlag() throws IOException {
    String doc = Files.readString(Path.of("..", "docs", "file-writer.md"));
    for (String key : HelperConfigParser.TOP_LEVEL_KEYS) {
      assertThat(doc).as("docs/file-writer.md documents " + key).contains("`" + key);
    }
    for (String key : HelperConfigParser.HEALTH_KEYS) {
      assertThat(doc).as("docs/file-writer.md documents health_checks." + key).contains("`health_checks." + key + "`");
    }
    for (String key : HelperConfigParser.JWT_SVID_KEYS) {
      assertThat(doc).contains(key);
    }
  }

  private static String fixture(String name) throws IOException {
    try (InputStream in = HelperConfigParserTest.class.getResourceAsStream("/helper-conf/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
