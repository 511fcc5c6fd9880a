package dev.rotor.it.envoy;

import com.sun.net.httpserver.HttpServer;
import dev.rotor.testkit.Ports;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The applications behind a backend Envoy, on 127.0.0.1: an HTTP server that answers 200 with the
 * caller Envoy forwarded ({@code x-forwarded-client-cert}), and a TCP server that echoes one line
 * and closes (so a client, and Envoy's TCP proxy in between, see the end of each exchange).
 */
final class LocalApps implements AutoCloseable {
  private final HttpServer http;
  private final ServerSocket echo;
  private final ExecutorService echoThreads = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "echo-app");
    t.setDaemon(true);
    return t;
  });

  private LocalApps(HttpServer http, ServerSocket echo) {
    this.http = http;
    this.echo = echo;
  }

  static LocalApps start() {
    try {
      HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), Ports.free()), 50);
      http.createContext("/", exchange -> {
        String xfcc = exchange.getRequestHeaders().getFirst("x-forwarded-client-cert");
        byte[] body = ("path=" + exchange.getRequestURI().getPath() + " xfcc=" + xfcc + "\n").getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      });
      http.setExecutor(Executors.newFixedThreadPool(4));
      http.start();
      ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      LocalApps apps = new LocalApps(http, echo);
      apps.echoThreads.execute(apps::acceptEchoClients);
      return apps;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the local applications", e);
    }
  }

  int httpPort() {
    return http.getAddress().getPort();
  }

  int echoPort() {
    return echo.getLocalPort();
  }

  private void acceptEchoClients() {
    while (!echo.isClosed()) {
      try {
        Socket client = echo.accept();
        echoThreads.execute(() -> echoOneLine(client));
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private static void echoOneLine(Socket client) {
    try (client; InputStream in = client.getInputStream(); OutputStream out = client.getOutputStream()) {
      client.setSoTimeout(10_000);
      for (int b; (b = in.read()) >= 0; ) {
        out.write(b);
        if (b == '\n') {
          break;
        }
      }
      out.flush();
    } catch (IOException e) {
      // The peer went away; nothing to echo.
    }
  }

  @Override
  public void close() throws IOException {
    http.stop(0);
    echo.close();
    echoThreads.shutdownNow();
  }
}
