package dev.rotor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code rotor status}: the table, and clear errors when Rotor is not there. */
class StatusCommandTest {

  private record Result(int status, String out, String err) {}

  private static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = RotorMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new Result(status, out.toString(), err.toString());
  }

  @Test
  void rotorNotRunning_exit2_namesAdminAndTheFix() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    Result r = run("status", "--admin", "http://127.0.0.1:" + port);
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).startsWith("rotor status: --admin: cannot reach Rotor at http://127.0.0.1:" + port)
        .contains("--admin-address");
  }

  @Test
  void malformedAdminUrl_exit2() {
    Result r = run("status", "--admin", "127.0.0.1:9902");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("--admin: \"127.0.0.1:9902\" (expected an http:// URL");
  }

  @Test
  void somethingElseAnswers_exit1_saysSo() throws Exception {
    HttpServer other = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
    other.createContext("/", e -> {
      e.sendResponseHeaders(404, -1);
      e.close();
    });
    other.start();
    try {
      Result r = run("status", "--admin", "http://127.0.0.1:" + other.getAddress().getPort());
      assertThat(r.status()).isEqualTo(1);
      assertThat(r.err()).contains("answered HTTP 404", "Rotor admin endpoint");
    } finally {
      other.stop(0);
    }
  }

  @Test
  void table_oneRowPerEnvoy_withNackErrorAndExpiry() throws Exception {
    String status = """
        {"envoys": [
          {"node_id": "frontend", "peer": "uid=101 gid=101 pid=7",
           "identities": [{"spiffe_id": "spiffe://example.org/frontend", "expires_in_seconds": 3725}],
           "sync": {"sds": {"state": "SYNCED"}, "lds": {"state": "NACKED", "error": "bad\\n listener"},
                    "cds": {"state": "STALE"}}},
          {"node_id": "", "peer": "uid=102", "identities": [], "sync": {"sds": {"state": "NOT_SENT"}}}
        ]}""";
    List<StatusCommand.Row> rows = StatusCommand.rows(new ObjectMapper().readTree(status));
    String table = StatusCommand.table(rows);
    List<String> lines = table.lines().toList();
    assertThat(lines).hasSize(3);
    assertThat(lines.get(0)).startsWith("NODE").contains("PEER", "IDENTITY", "EXPIRES IN", "SDS", "LDS", "CDS");
    assertThat(lines.get(1)).startsWith("frontend").contains("spiffe://example.org/frontend", "1h2m", "SYNCED",
        "NACKED: bad listener", "STALE");
    assertThat(lines.get(2)).startsWith("(no node id)").contains("NOT_SENT", "-");
    assertThat(StatusCommand.table(List.of())).isEqualTo("No Envoy is connected.\n");
    assertThat(StatusCommand.expiresIn(0)).isEqualTo("EXPIRED");
    assertThat(StatusCommand.expiresIn(59)).isEqualTo("59s");
    assertThat(StatusCommand.expiresIn(90000)).isEqualTo("1d1h");
  }
}
