package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rotor.files.HelperConfig.HealthChecks;
import dev.rotor.http.BoundedHttpServer;
import dev.rotor.http.BoundedHttpServer.Response;
import dev.rotor.http.HttpLimits;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;

/**
 * spiffe-helper's health listener: {@code GET /live} and {@code GET /ready} (paths configurable)
 * answer 200 or 503 with a small JSON body. Ready once every output was written (or found in
 * place) and the last attempt did not fail; live unless the last attempt failed (spiffe-helper's
 * definitions). Bound to loopback unless {@code health_checks.bind_address} says otherwise, so
 * the status is not exposed to the network by default.
 *
 * <p>Served by {@link BoundedHttpServer} with its default deadlines and connection limit: on the
 * JDK's server, one connection that sent a byte and stalled held its only thread, and every probe
 * after it hung (issue 13, finding 4).
 */
public final class HealthServer implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final BoundedHttpServer server;

  private HealthServer(BoundedHttpServer server) {
    this.server = server;
  }

  /**
   * Listens on {@code config}'s address and port (port 0: any free port, for tests).
   *
   * @throws IOException if the address cannot be bound (in use, not local)
   */
  public static HealthServer start(HealthChecks config, Supplier<FileWriterStatus> status) throws IOException {
    requireNonNull(config, "config");
    requireNonNull(status, "status");
    InetSocketAddress address = new InetSocketAddress(config.bindAddress(), config.bindPort());
    return new HealthServer(BoundedHttpServer.start("rotor-files-health", address, HttpLimits.defaults(1), request -> {
      boolean liveness = request.path().equals(config.livenessPath());
      if (!liveness && !request.path().equals(config.readinessPath())) {
        return json(404, "{\"status\":\"Not Found\"}", Map.of());
      }
      if (!request.method().equals("GET") && !request.head()) {
        return json(405, "{\"status\":\"Method Not Allowed\"}", Map.of("Allow", "GET, HEAD"));
      }
      FileWriterStatus s = status.get();
      boolean good = liveness ? s.live() : s.ready();
      ObjectNode body = JSON.createObjectNode();
      body.put("status", good ? "OK" : "Service Unavailable");
      body.put("ready", s.ready());
      body.put("live", s.live());
      body.put("writes", s.writes());
      body.put("failures", s.failures());
      body.put("signals_sent", s.signalsSent());
      s.lastError().ifPresent(e -> body.put("last_error", e));
      s.lastWriteAt().ifPresent(t -> body.put("last_write_at", t.toString()));
      s.publishedDigest().ifPresent(d -> body.put("published_digest", d));
      return json(good ? 200 : 503, JSON.writeValueAsString(body), Map.of());
    }));
  }

  public int port() {
    return server.address().getPort();
  }

  private static Response json(int status, String body, Map<String, String> headers) {
    return new Response(status, "application/json", body.getBytes(StandardCharsets.UTF_8), headers);
  }

  @Override
  public void close() {
    server.close();
  }
}
