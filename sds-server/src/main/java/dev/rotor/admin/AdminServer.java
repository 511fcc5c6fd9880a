package dev.rotor.admin;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.rotor.metrics.RotorMetrics;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP endpoint: {@code /healthz}, {@code /readyz}, {@code /metrics}, {@code /status}.
 *
 * <p><b>Why the JDK's {@code com.sun.net.httpserver}.</b> Four read-only GET endpoints on loopback,
 * polled by a kubelet and a Prometheus scraper, need no HTTP/2, TLS, routing or streaming. The JDK
 * server (module jdk.httpserver, an exported and supported API) does this with no dependency;
 * grpc-java's Netty is shaded and not meant for reuse, and Jetty or Armeria would add megabytes and
 * a second threading model to a sidecar. It runs on two daemon threads of its own, so a slow scrape
 * never delays an xDS stream.
 */
public final class AdminServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);

  private final HttpServer server;
  private final ExecutorService executor;

  private AdminServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /**
   * Starts listening.
   *
   * @throws IOException when the address cannot be bound (in use, not local, ...)
   */
  public static AdminServer start(InetSocketAddress address, Readiness readiness, RotorMetrics metrics,
      StatusReport status) throws IOException {
    requireNonNull(address, "address");
    requireNonNull(readiness, "readiness");
    requireNonNull(metrics, "metrics");
    requireNonNull(status, "status");
    HttpServer server = HttpServer.create(address, 16);
    ExecutorService executor = Executors.newFixedThreadPool(2,
        new ThreadFactoryBuilder().setNameFormat("rotor-admin-%d").setDaemon(true).build());
    server.setExecutor(executor);
    server.createContext("/", exchange -> handle(exchange, () -> {
      String path = exchange.getRequestURI().getPath();
      switch (path) {
        case "/healthz":
          ObjectNode alive = StatusReport.JSON.createObjectNode().put("status", "alive");
          json(exchange, 200, alive);
          break;
        case "/readyz":
          Readiness.Result r = readiness.check();
          ObjectNode body = StatusReport.JSON.createObjectNode().put("ready", r.ready());
          r.reasons().forEach(body.putArray("reasons")::add);
          json(exchange, r.ready() ? 200 : 503, body);
          break;
        case "/metrics":
          ByteArrayOutputStream buf = new ByteArrayOutputStream(16 * 1024);
          metrics.writeText(buf);
          send(exchange, 200, metrics.contentType(), buf.toByteArray());
          break;
        case "/status":
          json(exchange, 200, status.build());
          break;
        default:
          json(exchange, 404, StatusReport.JSON.createObjectNode()
              .put("error", "no such endpoint: " + abbreviate(path) + " (expected: /healthz, /readyz, /metrics, /status)"));
      }
    }));
    server.start();
    log.atInfo().addKeyValue("address", "http://" + hostPort(server.getAddress())).log("admin endpoint listening");
    if (!address.getAddress().isLoopbackAddress()) {
      log.atWarn().addKeyValue("address", hostPort(server.getAddress()))
          .log("admin endpoint is not on loopback: /status names every Envoy and identity (no key material);"
              + " restrict who can reach it");
    }
    return new AdminServer(server, executor);
  }

  /** The bound address (the chosen port when asked for port 0). */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** E.g. {@code http://127.0.0.1:9902}. */
  public String url() {
    return "http://" + hostPort(server.getAddress());
  }

  /**
   * Stops listening and ends exchanges in progress (JDK 17's stop(n) sits out the whole n seconds
   * even when idle, and at shutdown a half-sent scrape does not matter).
   */
  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    try {
      executor.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static String hostPort(InetSocketAddress a) {
    String host = a.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  private interface Body {
    void run() throws IOException;
  }

  private static void handle(HttpExchange exchange, Body body) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        json(exchange, 405, StatusReport.JSON.createObjectNode().put("error", "method " + abbreviate(method)
            + " not allowed (expected: GET)"));
        return;
      }
      body.run();
    } catch (IOException | RuntimeException e) {
      log.atWarn().setCause(e).addKeyValue("path", abbreviate(exchange.getRequestURI().getPath()))
          .log("admin request failed");
      try {
        json(exchange, 500, StatusReport.JSON.createObjectNode().put("error", "internal error"));
      } catch (IOException | RuntimeException ignored) {
        // headers were already sent; the client sees a truncated response
      }
    }
  }

  private static void json(HttpExchange exchange, int status, JsonNode body) throws IOException {
    byte[] bytes = StatusReport.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
    send(exchange, status, "application/json", bytes);
  }

  private static void send(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 100 ? s : s.substring(0, 100) + "...";
  }
}
