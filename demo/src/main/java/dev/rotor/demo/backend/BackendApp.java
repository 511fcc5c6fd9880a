package dev.rotor.demo.backend;

import static java.util.Objects.requireNonNull;

import com.sun.net.httpserver.HttpExchange;
import dev.rotor.demo.http.JsonHttp;
import dev.rotor.demo.http.JsonHttp.Response;
import java.io.IOException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend: {@code /health}, {@code /api/orders} and {@code /api/demo} on a loopback port that
 * only its Envoy sidecar forwards to, after mTLS and the policy's RBAC.
 */
public final class BackendApp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BackendApp.class);

  private final Database database;
  private final JsonHttp http;
  private final AtomicBoolean seeded = new AtomicBoolean();

  private BackendApp(Database database, JsonHttp http) {
    this.database = database;
    this.http = http;
  }

  public static BackendApp start(BackendConfig config) throws IOException {
    requireNonNull(config, "config");
    SvidLifetime.halfLife(config.database().sslCert()).ifPresent(half -> {
      if (config.database().maxLifetime().compareTo(half) >= 0) {
        log.warn("DB_POOL_MAX_LIFETIME {} is not shorter than half the SVID's lifetime ({}): pooled connections"
            + " may outlive a rotation", config.database().maxLifetime(), half);
      }
    });
    Database database = new Database(config.database());
    BackendApp[] app = new BackendApp[1];
    Map<String, JsonHttp.Handler> routes = Map.of(
        "/health", exchange -> Response.ok(Map.of("status", "ok")),
        "/api/orders", exchange -> app[0].orders(),
        "/api/demo", exchange -> app[0].demo(exchange));
    app[0] = new BackendApp(database, JsonHttp.start(config.listen(), routes));
    log.info("backend listening on {}, database {} as {} (pool max lifetime {})", config.listen(),
        config.database().jdbcUrl(), config.database().user(), config.database().maxLifetime());
    app[0].seedOnce();
    return app[0];
  }

  /** Seeds at most once per process; a failure is retried by the next request. */
  private void seedOnce() {
    if (seeded.get()) {
      return;
    }
    synchronized (seeded) {
      if (seeded.get()) {
        return;
      }
      try {
        database.seed();
        seeded.set(true);
      } catch (SQLException e) {
        log.warn("cannot seed the orders table yet: {}", e.getMessage());
      }
    }
  }

  private Response orders() {
    seedOnce();
    try {
      return Response.ok(Map.of("orders", database.orders()));
    } catch (SQLException e) {
      return new Response(503, Map.of("error", "database: " + e.getMessage()));
    }
  }

  /** Both hops of the demo: who called us (per Envoy), who PostgreSQL thinks we are, and the data. */
  private Response demo(HttpExchange exchange) {
    Map<String, Object> body = new LinkedHashMap<>();
    Map<String, Object> caller = new LinkedHashMap<>();
    String xfcc = exchange.getRequestHeaders().getFirst(Xfcc.HEADER);
    try {
      caller.put("spiffeId", Xfcc.peerUri(xfcc));
      caller.put("authenticatedBy", "backend's Envoy (mTLS, then RBAC from the Rotor policy)");
    } catch (IllegalArgumentException e) {
      caller.put("error", e.getMessage());
    }
    body.put("frontendToBackend", caller);

    seedOnce();
    Map<String, Object> db = new LinkedHashMap<>();
    int status = 200;
    try {
      DatabaseIdentity id = database.identity();
      db.put("currentUser", id.currentUser());
      db.put("ssl", id.ssl());
      db.put("tlsVersion", id.tlsVersion());
      db.put("clientCertificateDn", id.clientDn());
      db.put("clientCertificateSerial", id.clientSerial());
      List<Order> orders = database.orders();
      body.put("backendToDatabase", db);
      body.put("orders", orders);
    } catch (SQLException e) {
      db.put("error", e.getMessage());
      body.put("backendToDatabase", db);
      status = 503;
    }
    return new Response(status, body);
  }

  /** Stops taking requests, lets those in flight finish, closes the pool. */
  public void stop(Duration grace) {
    http.stop(grace);
    database.close();
    log.info("backend stopped");
  }

  @Override
  public void close() {
    stop(Duration.ZERO);
  }
}
