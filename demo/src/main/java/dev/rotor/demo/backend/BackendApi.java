package dev.rotor.demo.backend;

import static java.util.Objects.requireNonNull;

import com.sun.net.httpserver.HttpExchange;
import dev.rotor.demo.http.JsonHttp;
import dev.rotor.demo.http.JsonHttp.Response;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The backend's three endpoints over one {@link Database}; seeds the table once, on first use. */
final class BackendApi {
  private static final Logger log = LoggerFactory.getLogger(BackendApi.class);

  private final Database database;
  /** Guards nothing but the one-time seeding; true once it succeeded. */
  private boolean seeded;

  BackendApi(Database database) {
    this.database = requireNonNull(database, "database");
  }

  Map<String, JsonHttp.Handler> routes() {
    return Map.of(
        "/health", exchange -> Response.ok(Map.of("status", "ok")),
        "/api/orders", exchange -> orders(),
        "/api/demo", this::demo);
  }

  /** Creates and seeds the table once per process; a failure is retried by the next request. */
  synchronized void seedOnce() {
    if (seeded) {
      return;
    }
    try {
      database.seed();
      seeded = true;
    } catch (SQLException e) {
      log.warn("cannot seed the orders table yet: {}", e.getMessage());
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
    try {
      caller.put("spiffeId", Xfcc.peerUri(exchange.getRequestHeaders().getFirst(Xfcc.HEADER)));
      caller.put("authenticatedBy", "backend's Envoy (mTLS, then RBAC from the Rotor policy)");
    } catch (IllegalArgumentException e) {
      caller.put("error", e.getMessage());
    }
    body.put("frontendToBackend", caller);

    seedOnce();
    Map<String, Object> db = new LinkedHashMap<>();
    body.put("backendToDatabase", db);
    try {
      DatabaseIdentity id = database.identity();
      db.put("currentUser", id.currentUser());
      db.put("ssl", id.ssl());
      db.put("tlsVersion", id.tlsVersion());
      db.put("clientCertificateDn", id.clientDn());
      db.put("clientCertificateSerial", id.clientSerial());
      List<Order> orders = database.orders();
      body.put("orders", orders);
      return Response.ok(body);
    } catch (SQLException e) {
      db.put("error", e.getMessage());
      return new Response(503, body);
    }
  }
}
