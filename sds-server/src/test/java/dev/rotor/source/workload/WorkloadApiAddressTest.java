package dev.rotor.source.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.net.InetAddresses;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WorkloadApiAddressTest {

  private static final String EXPECTED_ANY =
      " is not a socket address (expected unix:///absolute/path, /absolute/path or tcp://IP:PORT)";

  static Stream<Arguments> goodAddresses() {
    return Stream.of(
        Arguments.of("unix URI", "unix:///run/spire/agent.sock",
            new WorkloadApiAddress.Unix(Path.of("/run/spire/agent.sock"))),
        Arguments.of("unix URI without authority", "unix:/run/spire/agent.sock",
            new WorkloadApiAddress.Unix(Path.of("/run/spire/agent.sock"))),
        Arguments.of("bare absolute path", "/tmp/spire-agent/public/api.sock",
            new WorkloadApiAddress.Unix(Path.of("/tmp/spire-agent/public/api.sock"))),
        Arguments.of("upper-case scheme", "UNIX:///run/agent.sock",
            new WorkloadApiAddress.Unix(Path.of("/run/agent.sock"))),
        Arguments.of("tcp IPv4", "tcp://127.0.0.1:8081",
            new WorkloadApiAddress.Tcp(InetAddresses.forString("127.0.0.1"), 8081)),
        Arguments.of("tcp IPv6", "tcp://[::1]:8081",
            new WorkloadApiAddress.Tcp(InetAddresses.forString("::1"), 8081)));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("goodAddresses")
  void parse_goodAddress_returnsIt(String defect, String value, WorkloadApiAddress expected) {
    assertThat(WorkloadApiAddress.parse(value)).isEqualTo(expected);
  }

  static Stream<Arguments> badAddresses() {
    String tcp = " is not a TCP socket address (expected tcp://IP:PORT";
    return Stream.of(
        Arguments.of("opaque unix URI", "unix:relative", EXPECTED_ANY),
        Arguments.of("relative path", "run/agent.sock", EXPECTED_ANY),
        Arguments.of("empty", "", EXPECTED_ANY),
        Arguments.of("unknown scheme", "http://127.0.0.1:8081", EXPECTED_ANY),
        Arguments.of("not a URI", "unix:///a b\\c", EXPECTED_ANY),
        Arguments.of("directory, not a socket", "unix:///run/spire/", EXPECTED_ANY),
        Arguments.of("unix with host", "unix://localhost/run/agent.sock",
            " is not a unix socket address (expected unix:///absolute/path, with no host, query or fragment)"),
        Arguments.of("unix with query", "unix:///run/agent.sock?x=1",
            " is not a unix socket address (expected unix:///absolute/path, with no host, query or fragment)"),
        Arguments.of("tcp without port", "tcp://127.0.0.1", tcp + ")"),
        Arguments.of("tcp with non-numeric port", "tcp://127.0.0.1:http", tcp + ")"),
        Arguments.of("tcp with host name", "tcp://localhost:8081",
            tcp + "; the host must be an IP address, not a name)"),
        Arguments.of("tcp with path", "tcp://127.0.0.1:8081/agent", tcp + " with no path, query or fragment)"),
        Arguments.of("tcp port out of range", "tcp://127.0.0.1:70000", tcp + " with a port from 1 to 65535)"),
        Arguments.of("tcp port zero", "tcp://127.0.0.1:0", tcp + " with a port from 1 to 65535)"));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("badAddresses")
  void parse_badAddress_namesFlagValueAndExpectation(String defect, String value, String expectedTail) {
    assertThatThrownBy(() -> WorkloadApiAddress.parse(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("--workload-api: \"" + value + "\"" + expectedTail);
  }

  @Test
  void parse_opaqueUnix_hasExactDocumentedMessage() {
    assertThatThrownBy(() -> WorkloadApiAddress.parse("unix:relative"))
        .hasMessage("--workload-api: \"unix:relative\" is not a socket address "
            + "(expected unix:///absolute/path, /absolute/path or tcp://IP:PORT)");
  }

  @Test
  void uri_rendersSpecificationForm() {
    assertThat(WorkloadApiAddress.parse("/run/agent.sock").uri()).isEqualTo("unix:///run/agent.sock");
    assertThat(WorkloadApiAddress.parse("tcp://[::1]:8081").uri()).isEqualTo("tcp://[::1]:8081");
    assertThat(WorkloadApiAddress.parse("tcp://10.0.0.1:8081").uri()).isEqualTo("tcp://10.0.0.1:8081");
  }

  @Test
  void resolve_flagWinsOverEnvironment() {
    assertThat(WorkloadApiAddress.resolve("/from/flag.sock", Map.of("SPIFFE_ENDPOINT_SOCKET", "/from/env.sock")))
        .contains(new WorkloadApiAddress.Unix(Path.of("/from/flag.sock")));
  }

  @Test
  void resolve_noFlag_usesEnvironment() {
    assertThat(WorkloadApiAddress.resolve(null, Map.of("SPIFFE_ENDPOINT_SOCKET", "unix:///from/env.sock")))
        .contains(new WorkloadApiAddress.Unix(Path.of("/from/env.sock")));
  }

  @Test
  void resolve_neitherFlagNorEnvironment_isEmpty() {
    assertThat(WorkloadApiAddress.resolve(null, Map.of())).isEmpty();
    assertThat(WorkloadApiAddress.resolve(null, Map.of("SPIFFE_ENDPOINT_SOCKET", " "))).isEmpty();
  }

  @Test
  void resolve_badEnvironmentValue_namesTheVariable() {
    assertThatThrownBy(() -> WorkloadApiAddress.resolve(null, Map.of("SPIFFE_ENDPOINT_SOCKET", "agent.sock")))
        .hasMessage("SPIFFE_ENDPOINT_SOCKET: \"agent.sock\"" + EXPECTED_ANY);
  }

  @Test
  void resolve_emptyFlag_isAnErrorNotAFallback() {
    assertThatThrownBy(() -> WorkloadApiAddress.resolve("", Map.of("SPIFFE_ENDPOINT_SOCKET", "/env.sock")))
        .hasMessage("--workload-api: \"\"" + EXPECTED_ANY);
  }
}
