package dev.rotor.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rotor.http.BoundedHttpServer;
import dev.rotor.http.HttpLimits;
import dev.rotor.metrics.RotorMetrics;
import dev.rotor.text.EchoedText;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP endpoint: {@code /healthz}, {@code /readyz}, {@code /metrics}, {@code /status}.
 *
 * <p>Served by {@link BoundedHttpServer}: four read-only GET endpoints polled by a kubelet and a
 * Prometheus scraper need no HTTP/2, TLS, routing or streaming, but they do need deadlines. The JDK
 * server that ran them before let two stalled connections hold its two threads indefinitely, and
 * the liveness probe on {@code /healthz} then restarted a healthy Rotor (issue 13, finding 4). Its
 * threads are its own, so a slow scrape never delays an xDS stream.
 */
public final class AdminServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  /** Computing /status and /metrics is the only work here; two threads keep one slow scrape from the probes. */
  static final int HANDLER_THREADS = 2;

  private final BoundedHttpServer server;

  private AdminServer(BoundedHttpServer server) {
    this.server = server;
  }

  /**
   * Starts listening.
   *
   * @throws IOException when the address cannot be bound (in use, not local, ...)
   */
  public static AdminServer start(InetSocketAddress address, HttpLimits limits, Readiness readiness,
      RotorMetrics metrics, StatusReport status) throws IOException {
    requireNonNull(address, "address");
    requireNonNull(limits, "limits");
    requireNonNull(readiness, "readiness");
    requireNonNull(metrics, "metrics");
    requireNonNull(status, "status");
    BoundedHttpServer server = BoundedHttpServer.start("rotor-admin", address, limits, request -> {
      if (!request.method().equals("GET") && !request.head()) {
        return json(405, StatusReport.JSON.createObjectNode().put("error", "method "
            + EchoedText.clip(request.method(), 20) + " not allowed (expected: GET)"), Map.of("Allow", "GET, HEAD"));
      }
      switch (request.path()) {
        case "/healthz":
          return json(200, StatusReport.JSON.createObjectNode().put("status", "alive"), Map.of());
        case "/readyz":
          Readiness.Result r = readiness.check();
          ObjectNode body = StatusReport.JSON.createObjectNode().put("ready", r.ready());
          r.reasons().forEach(body.putArray("reasons")::add);
          return json(r.ready() ? 200 : 503, body, Map.of());
        case "/metrics":
          ByteArrayOutputStream buf = new ByteArrayOutputStream(16 * 1024);
          metrics.writeText(buf);
          return new BoundedHttpServer.Response(200, metrics.contentType(), buf.toByteArray());
        case "/status":
          return json(200, status.build(), Map.of());
        default:
          return json(404, StatusReport.JSON.createObjectNode().put("error", "no such endpoint: "
              + EchoedText.clip(request.path(), 100) + " (expected: /healthz, /readyz, /metrics, /status)"), Map.of());
      }
    });
    log.atInfo().addKeyValue("address", "http://" + hostPort(server.address())).log("admin endpoint listening");
    if (!address.getAddress().isLoopbackAddress()) {
      log.atWarn().addKeyValue("address", hostPort(server.address()))
          .log("admin endpoint is not on loopback: /status names every Envoy and identity (no key material);"
              + " restrict who can reach it");
    }
    return new AdminServer(server);
  }

  /** The bound address (the chosen port when asked for port 0). */
  public InetSocketAddress address() {
    return server.address();
  }

  /** E.g. {@code http://127.0.0.1:9902}. */
  public String url() {
    return "http://" + hostPort(server.address());
  }

  /** Connections refused or cut by the limits, by reason (for metrics). */
  public Map<BoundedHttpServer.Refusal, Long> refusals() {
    return server.refusals();
  }

  /** Stops listening and ends exchanges in progress (at shutdown a half-sent scrape does not matter). */
  @Override
  public void close() {
    server.close();
  }

  static String hostPort(InetSocketAddress a) {
    String host = a.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  private static BoundedHttpServer.Response json(int status, JsonNode body, Map<String, String> headers)
      throws IOException {
    byte[] bytes = StatusReport.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
    return new BoundedHttpServer.Response(status, "application/json", bytes, headers);
  }
}
