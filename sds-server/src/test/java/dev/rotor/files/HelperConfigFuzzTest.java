package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Fuzz target for {@code helper.conf} (spiffe-helper's HCL keys, read by Rotor's own HCL 1
 * reader): a configuration, or a {@link HelperConfigException} whose one-line message starts with
 * the file's name (and line, where there is one) and names the key. Anything else is a finding.
 * {@code cert_dir} is pinned by a flag to a scratch directory, because the parser checks it by
 * creating a file there. Seeds (spiffe-helper's example files) and past findings:
 * {@code HelperConfigFuzzTestInputs/}.
 */
class HelperConfigFuzzTest {

  private static final String SOURCE = "fuzz.conf";
  private static final Path CERT_DIR = scratchDir();
  private static final Map<String, HelperConfigParser.Flag> PINNED =
      Map.of("cert_dir", new HelperConfigParser.Flag("--cert-dir", CERT_DIR.toString()));

  @FuzzTest(maxDuration = "60s", maxExecutions = 700_000)
  void helperConf(byte[] input) {
    String text = new String(input, StandardCharsets.UTF_8);
    try {
      HelperConfig config = HelperConfigParser.parse(text, SOURCE, PINNED, Map.of(), CERT_DIR);
      assertThat(config.certDir()).isEqualTo(CERT_DIR);
    } catch (HelperConfigException e) {
      assertThat(e.getMessage()).as("the error for a bad helper.conf").startsWith(SOURCE).doesNotContain("\n");
    }
  }

  private static Path scratchDir() {
    try {
      Path dir = Files.createTempDirectory("rotor-helper-fuzz-");
      dir.toFile().deleteOnExit();
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
