package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.rotor.files.HelperConfig.HealthChecks;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * spiffe-helper's health listener: {@code GET /live} and {@code GET /ready} (paths configurable)
 * answer 200 or 503 with a small JSON body. Ready once every output was written (or found in
 * place) and the last attempt did not fail; live unless the last attempt failed (spiffe-helper's
 * definitions). Bound to loopback unless {@code health_checks.bind_address} says otherwise, so
 * the status is not exposed to the network by default.
 *
 * <p>Uses the JDK's built-in HTTP server: two tiny endpoints need no framework.
 */
public final class HealthServer implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final ExecutorService threads;

  private HealthServer(HttpServer server, ExecutorService threads) {
    this.server = server;
    this.threads = threads;
  }

  /**
   * Listens on {@code config}'s address and port (port 0: any free port, for tests).
   *
   * @throws IOException if the address cannot be bound (in use, not local)
   */
  public static HealthServer start(HealthChecks config, Supplier<FileWriterStatus> status) throws IOException {
    requireNonNull(config, "config");
    requireNonNull(status, "status");
    HttpServer server = HttpServer.create(new InetSocketAddress(config.bindAddress(), config.bindPort()), 16);
    server.createContext(config.livenessPath(), ex -> respond(ex, config.livenessPath(), status.get(), true));
    server.createContext(config.readinessPath(), ex -> respond(ex, config.readinessPath(), status.get(), false));
    ExecutorService threads = Executors.newSingleThreadExecutor(
        new ThreadFactoryBuilder().setNameFormat("rotor-files-health").setDaemon(true).build());
    server.setExecutor(threads);
    server.start();
    return new HealthServer(server, threads);
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void respond(HttpExchange ex, String path, FileWriterStatus s, boolean liveness) throws IOException {
    try (ex) {
      // createContext matches by prefix; only the exact path is an endpoint.
      if (!ex.getRequestURI().getPath().equals(path)) {
        send(ex, 404, "{\"status\":\"Not Found\"}");
        return;
      }
      if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
        ex.getResponseHeaders().set("Allow", "GET, HEAD");
        send(ex, 405, "{\"status\":\"Method Not Allowed\"}");
        return;
      }
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
      send(ex, good ? 200 : 503, JSON.writeValueAsString(body));
    }
  }

  private static void send(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    boolean head = ex.getRequestMethod().equals("HEAD");
    ex.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }
}
