package dev.rotor.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.rotor.config.PolicyResources;
import dev.rotor.xds.envoy.SdsSecretConfigs;
import dev.rotor.xds.envoy.WorkloadResourcesBuilder;
import dev.rotor.xds.secret.SecretNaming;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target for the policy file, the way {@code rotor serve --policy} takes it: parse, then
 * translate into Envoy listeners, clusters and RBAC. Parsing either yields a policy or a
 * {@link PolicyException} whose every error names the file and says what is wrong; a parsed
 * policy translates or is refused as untranslatable ({@link IllegalArgumentException}), and
 * parsing the same text twice gives the same content version. Anything else is a finding.
 * Seeds (the repository's policies and the parser's negative fixtures) and past findings:
 * {@code PolicyFuzzTestInputs/}.
 */
class PolicyFuzzTest {

  private static final String FILE = "fuzz.yaml";
  private static final WorkloadResourcesBuilder.Options OPTIONS = new WorkloadResourcesBuilder.Options(
      SdsSecretConfigs.overAds(SecretNaming.SPIRE_DEFAULTS), WorkloadResourcesBuilder.Options.DEFAULT_CONNECT_TIMEOUT);

  @FuzzTest(maxDuration = "60s", maxExecutions = 700_000)
  void policyFile(byte[] input) throws PolicyException {
    String text = new String(input, StandardCharsets.UTF_8);
    Policy policy;
    try {
      policy = PolicyParser.parse(FILE, text);
    } catch (PolicyException e) {
      assertThat(e.errors()).isNotEmpty();
      for (PolicyError error : e.errors()) {
        assertThat(error.file()).isEqualTo(FILE);
        assertThat(error.message()).isNotBlank();
      }
      return;
    }
    try {
      PolicyResources.build(policy, OPTIONS);
    } catch (IllegalArgumentException untranslatable) {
      assertThat(untranslatable.getMessage()).isNotBlank();
    }
    assertThat(PolicyParser.parse(FILE, text).contentVersion()).isEqualTo(policy.contentVersion());
  }
}
