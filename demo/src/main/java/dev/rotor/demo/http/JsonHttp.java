package dev.rotor.demo.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.rotor.demo.config.HostPort;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The JDK's HTTP server, answering GETs with JSON: all the web framework the demo needs. */
public final class JsonHttp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JsonHttp.class);

  /** Shared; times are carried as ISO-8601 strings, so no time module is needed. */
  public static final ObjectMapper JSON = new ObjectMapper();

  /** A GET handler: the request, and what to answer. */
  @FunctionalInterface
  public interface Handler {
    Response handle(HttpExchange exchange) throws Exception;
  }

  /** Status and a body that Jackson serializes. */
  public record Response(int status, Object body) {
    public static Response ok(Object body) {
      return new Response(200, body);
    }
  }

  private final HttpServer server;
  private final ExecutorService executor;

  private JsonHttp(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /** Binds {@code listen} and serves {@code routes} (exact paths) until {@link #close()}. */
  public static JsonHttp start(HostPort listen, Map<String, Handler> routes) throws IOException {
    HttpServer server = HttpServer.create(listen.socketAddress(), 0);
    ExecutorService executor = Executors.newFixedThreadPool(4);
    server.setExecutor(executor);
    server.createContext("/", exchange -> dispatch(exchange, routes));
    server.start();
    return new JsonHttp(server, executor);
  }

  /** The port actually bound (for port 0 in tests). */
  public int port() {
    return server.getAddress().getPort();
  }

  private static void dispatch(HttpExchange exchange, Map<String, Handler> routes) throws IOException {
    try (exchange) {
      Handler handler = routes.get(exchange.getRequestURI().getPath());
      Response response;
      if (handler == null) {
        response = new Response(404, Map.of("error", "no such path: " + exchange.getRequestURI().getPath()));
      } else if (!"GET".equals(exchange.getRequestMethod())) {
        exchange.getResponseHeaders().set("Allow", "GET");
        response = new Response(405, Map.of("error", "only GET is served"));
      } else {
        try {
          response = handler.handle(exchange);
        } catch (Exception e) {
          log.warn("handler for {} failed", exchange.getRequestURI().getPath(), e);
          response = new Response(500, Map.of("error", String.valueOf(e.getMessage())));
        }
      }
      byte[] body = JSON.writeValueAsString(response.body()).getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(response.status(), body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  /** Stops accepting, lets requests in flight finish for up to {@code grace}, then stops. */
  public void stop(Duration grace) {
    server.stop((int) Math.max(0, grace.toSeconds()));
    executor.shutdown();
    try {
      if (!executor.awaitTermination(grace.toMillis() + 1000, TimeUnit.MILLISECONDS)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException e) {
      executor.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    stop(Duration.ZERO);
  }
}
