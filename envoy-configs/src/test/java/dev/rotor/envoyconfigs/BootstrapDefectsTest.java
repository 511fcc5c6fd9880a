package dev.rotor.envoyconfigs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Proves the checks in {@link EnvoyBootstrapTest} can fail: each fixture is the backend bootstrap
 * with one defect injected, named by that defect, and must be caught by the check it names.
 */
class BootstrapDefectsTest {

  /** Where a defect must be caught. */
  enum CaughtBy { STRICT_PARSE, CLUSTER_REFERENCES, DEPRECATION }

  /**
   * One defect: {@code find} occurs exactly once in the file and is replaced by {@code replace};
   * the resulting error must contain {@code expected}.
   */
  record Defect(String name, String find, String replace, CaughtBy caughtBy, String expected) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Defect> defects() {
    return Stream.of(
        new Defect("unknown top-level field",
            "\nnode:\n", "\nunknown_field: 1\nnode:\n",
            CaughtBy.STRICT_PARSE, "Cannot find field: unknown_field"),
        new Defect("misspelled nested field",
            "set_node_on_first_message_only: true", "set_node_on_first_msg_only: true",
            CaughtBy.STRICT_PARSE, "set_node_on_first_msg_only"),
        new Defect("Any of a type outside the registry",
            "\"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "\"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptionz",
            CaughtBy.STRICT_PARSE, "HttpProtocolOptionz"),
        new Defect("enum value that does not exist",
            "transport_api_version: V3", "transport_api_version: V4",
            CaughtBy.STRICT_PARSE, "V4"),
        new Defect("duration without a unit",
            "connect_timeout: 1s", "connect_timeout: 1",
            CaughtBy.STRICT_PARSE, "Failed to parse duration: 1"),
        new Defect("duplicate key",
            "      connect_timeout: 1s\n", "      connect_timeout: 1s\n      connect_timeout: 5s\n",
            CaughtBy.STRICT_PARSE, "connect_timeout"),
        new Defect("key with no value where a message belongs",
            "  lds_config:\n    ads: {}\n", "  lds_config:\n    ads:\n",
            CaughtBy.STRICT_PARSE, "dynamic_resources.lds_config.ads: no value"),
        new Defect("misspelled cluster reference",
            "envoy_grpc:\n          cluster_name: rotor", "envoy_grpc:\n          cluster_name: rotr",
            CaughtBy.CLUSTER_REFERENCES,
            "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: \"rotr\" (defined: [rotor])"),
        new Defect("deprecated admin access_log_path",
            "admin:\n  address:\n", "admin:\n  access_log_path: /dev/stdout\n  address:\n",
            CaughtBy.DEPRECATION, "admin.access_log_path"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("defects")
  void defectIsCaught(Defect defect) throws IOException {
    String yaml = inject(defect);

    switch (defect.caughtBy()) {
      case STRICT_PARSE -> assertThatThrownBy(() -> StrictBootstrapParser.parse("backend-envoy.yaml", yaml))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("backend-envoy.yaml: ")
          .hasMessageContaining(defect.expected());
      case CLUSTER_REFERENCES -> {
        Bootstrap b = StrictBootstrapParser.parse("backend-envoy.yaml", yaml);
        assertThat(BootstrapChecks.undefinedClusterReferences(b, StrictBootstrapParser.TYPES))
            .containsExactly(defect.expected());
      }
      case DEPRECATION -> {
        Bootstrap b = StrictBootstrapParser.parse("backend-envoy.yaml", yaml);
        assertThat(BootstrapChecks.deprecatedInUse(b, StrictBootstrapParser.TYPES))
            .containsExactly(defect.expected());
      }
    }
  }

  @Test
  void unchangedFileHasNoneOfTheseDefects() throws IOException {
    String yaml = Files.readString(Sidecar.BACKEND.bootstrap(), StandardCharsets.UTF_8);

    Bootstrap b = StrictBootstrapParser.parse("backend-envoy.yaml", yaml);
    assertThat(BootstrapChecks.undefinedClusterReferences(b, StrictBootstrapParser.TYPES)).isEmpty();
    assertThat(BootstrapChecks.deprecatedInUse(b, StrictBootstrapParser.TYPES)).isEmpty();
  }

  /** The backend bootstrap with the defect in; fails if the text to replace is not there exactly once. */
  private static String inject(Defect defect) throws IOException {
    String original = Files.readString(Sidecar.BACKEND.bootstrap(), StandardCharsets.UTF_8);
    int at = original.indexOf(defect.find());
    assertThat(at).as("fixture \"%s\": text to replace is in backend-envoy.yaml", defect.name()).isNotNegative();
    assertThat(original.indexOf(defect.find(), at + 1))
        .as("fixture \"%s\": text to replace occurs once", defect.name()).isNegative();
    return original.substring(0, at) + defect.replace() + original.substring(at + defect.find().length());
  }
}
