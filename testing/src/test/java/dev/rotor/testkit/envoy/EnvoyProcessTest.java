package dev.rotor.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonParser;
import dev.rotor.testkit.TemplateFile;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/** The Envoy fixture itself, against the real binary of every tested version. */
@ParameterizedClass(name = "Envoy {0}")
@MethodSource("dev.rotor.testkit.envoy.EnvoyVersions#all")
class EnvoyProcessTest {

  private static final String STATIC_BOOTSTRAP = """
      node: { id: fixture, cluster: fixture }
      admin:
        address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
      static_resources:
        listeners:
          - name: hello
            address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
            filter_chains:
              - filters:
                  - name: envoy.filters.network.direct_response
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.direct_response.v3.Config
                      response: { inline_string: "hello" }
      """;

  @Parameter
  String version;

  @TempDir
  Path dir;

  @Test
  void twoEnvoysSideBySide_eachLiveOnItsOwnAdminPort_andReapedOnClose() throws Exception {
    EnvoyProcess first;
    EnvoyProcess second;
    try (EnvoyProcess a = start("a"); EnvoyProcess b = start("b")) {
      first = a;
      second = b;
      a.awaitLive(Duration.ofSeconds(30));
      b.awaitLive(Duration.ofSeconds(30));

      assertThat(a.admin().base()).isNotEqualTo(b.admin().base());
      assertThat(a.admin().serverState()).isEqualTo("LIVE");
      String serverVersion = JsonParser.parseString(a.admin().get("/server_info"))
          .getAsJsonObject().get("version").getAsString();
      assertThat(serverVersion).as("/server_info version").contains("/" + version + "/");
      assertThat(a.admin().stat("server.live")).isEqualTo(1);
      assertThat(a.admin().stat("server.concurrency")).as("--concurrency 1").isEqualTo(1);
      assertThatThrownBy(() -> a.admin().stat("server.no_such_stat"))
          .hasMessageContaining("no stat named \"server.no_such_stat\"");
    }
    assertThat(first.isAlive()).isFalse();
    assertThat(second.isAlive()).isFalse();
  }

  @Test
  void bootstrapEnvoyRejects_startFailsWithEnvoysOwnWords() {
    TemplateFile bad = TemplateFile.of("bad", STATIC_BOOTSTRAP.replace("direct_response.v3.Config", "direct_response.v3.NoSuchConfig"));

    assertThatThrownBy(() -> EnvoyProcess.builder("bad", version).bootstrap(bad).dir(dir).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("exited with status")
        .hasMessageContaining("NoSuchConfig");
  }

  @Test
  void replaceOnce_textMissingOrRepeated_refusesToRunAHalfChangedFile() {
    TemplateFile bootstrap = TemplateFile.of("two-ports", STATIC_BOOTSTRAP);

    assertThatThrownBy(() -> bootstrap.replaceOnce("port_value: 0", "port_value: 1"))
        .hasMessage("two-ports: \"port_value: 0\" occurs 2 times (expected exactly once, to substitute \"port_value: 1\")");
    assertThatThrownBy(() -> bootstrap.replaceOnce(EnvoyBootstrap.DEMO_SOCKET, "/tmp/x.sock"))
        .hasMessageContaining("\"/run/rotor/sds.sock\" occurs 0 times");
  }

  @Test
  void demoBootstraps_haveExactlyTheSocketAndAdminPortTheFixtureSubstitutes() {
    for (String file : new String[] {"backend-envoy.yaml", "frontend-envoy.yaml"}) {
      String text = EnvoyBootstrap.demo(file, Path.of("/tmp/test.sock")).text();
      assertThat(text).contains("path: /tmp/test.sock").contains("port_value: 0").doesNotContain("9901");
    }
  }

  private EnvoyProcess start(String name) {
    return EnvoyProcess.builder(name, version).bootstrap(TemplateFile.of(name, STATIC_BOOTSTRAP)).dir(dir).start();
  }
}
