package dev.rotor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, low: error texts echoed flags and file contents raw, so a terminal escape recoloured
 * the terminal, a right-to-left override reordered the line and a Cyrillic letter passed for a
 * Latin one. Whatever a user or a file supplies is escaped wherever the CLI prints it back.
 */
class EchoedInputTest {

  /** A Cyrillic а, a right-to-left override, an ANSI colour sequence. */
  private static final String HOSTILE = "ex\u0430mple\u202eorg\u001b[31m";
  private static final String SHOWN = "ex\\u0430mple\\u202eorg\\u001b[31m";

  @TempDir Path dir;

  private record Result(int status, String out, String err) {}

  private static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = RotorMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(status, out.toString(), err.toString());
  }

  @Test
  void aServeFlag_isEchoedEscaped() {
    Result r = run("serve", "--sds-socket", dir.resolve("s.sock").toString(), "--dev", "--trust-domain", HOSTILE);

    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("--trust-domain: \"" + SHOWN + "\" is not a trust domain name");
    assertPrintableAscii(r.err());
  }

  @Test
  void anUnknownOption_isEchoedEscaped() {
    Result r = run("serve", "--" + HOSTILE);

    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains(SHOWN);
    assertPrintableAscii(r.err());
  }

  @Test
  void aPolicyFile_isEchoedEscaped_byPolicyCheck() throws Exception {
    Path policy = dir.resolve("policy.yaml");
    Files.writeString(policy, "version: 1\ntrustDomain: " + HOSTILE.replace("\u001b", "") + "\nworkloads: []\n");

    Result r = run("policy", "check", policy.toString());

    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err()).contains("trustDomain: \"ex\\u0430mple\\u202eorg[31m\" is not a trust domain name");
    assertPrintableAscii(r.err());
  }

  @Test
  void aHelperConf_isEchoedEscaped_byWriteCerts() throws Exception {
    Path conf = dir.resolve("helper.conf");
    Files.writeString(conf, "agent_address = \"/run/agent.sock\"\ncert_dir = \"" + dir + "\"\nsvid_file_name = \"a/"
        + HOSTILE.replace("\u001b", "\\u001b") + "\"\nsvid_key_file_name = \"k.pem\"\nsvid_bundle_file_name = \"b.pem\"\n");

    Result r = run("write-certs", "--config", conf.toString());

    assertThat(r.status()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains("\"a/" + SHOWN + "\" is not a file name");
    assertPrintableAscii(r.err());
  }

  private static void assertPrintableAscii(String text) {
    assertThat(text.replace("\n", "")).as("what the terminal is shown").matches("[\\x20-\\x7e]*");
  }
}
