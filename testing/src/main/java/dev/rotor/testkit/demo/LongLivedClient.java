package dev.rotor.testkit.demo;

import dev.rotor.testkit.clients.KeepAliveClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A {@link KeepAliveClient} calling through the frontend Envoy's outbound listener at a fixed
 * period: one HTTP/1.1 connection for as long as the server lets it live, and each such client
 * connection is one mutual-TLS connection from the frontend's Envoy to the backend's (a TCP
 * proxy), made with the certificates both Envoys held when it opened. Keeps every request's
 * outcome for the timeline; the connections' lives are the client's.
 */
public final class LongLivedClient implements AutoCloseable {
  public static final String NAME = "keep-alive";

  private final KeepAliveClient client;
  private Periodic thread;
  private final List<KeepAliveClient.Result> requests = new ArrayList<>();

  private LongLivedClient(int port) {
    this.client = new KeepAliveClient(port);
  }

  public static LongLivedClient start(int port, String path, Duration period) {
    LongLivedClient loop = new LongLivedClient(port);
    loop.thread = Periodic.start("keep-alive-client", period, () -> {
      KeepAliveClient.Result result = loop.client.get(path);
      synchronized (loop) {
        loop.requests.add(result);
      }
    });
    return loop;
  }

  public synchronized List<KeepAliveClient.Result> requests() {
    return List.copyOf(requests);
  }

  /** Connections the server closed, in order. */
  public List<KeepAliveClient.Connection> closedConnections() {
    return client.closedConnections();
  }

  /** When the connection still open opened, if one is. */
  public Optional<Instant> openSince() {
    return client.openSince();
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.close();
    }
    client.close();
  }
}
