package dev.rotor.testkit.clients;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The client against a fake HTTP/1.1 server that ends each connection after a few answers. */
class KeepAliveClientTest {
  private FakeServer server;

  @AfterEach
  void stop() throws IOException {
    server.close();
  }

  @Test
  void connectionClosedWithTheHeader_isRecorded_andTheNextRequestOpensANewOne() throws Exception {
    server = FakeServer.start(3, true);
    try (KeepAliveClient client = new KeepAliveClient(server.port())) {
      for (int i = 0; i < 7; i++) {
        assertThat(client.get("/x").ok()).as("request %d", i).isTrue();
      }
      assertThat(client.closedConnections()).hasSize(2)
          .allSatisfy(c -> assertThat(c.closedWithHeader()).isTrue())
          .allSatisfy(c -> assertThat(c.requests()).isEqualTo(3));
      assertThat(client.openSince()).isPresent();
      assertThat(server.connections()).hasValue(3);
      assertThat(client.retries()).isZero();
    }
  }

  @Test
  void idleConnectionClosedByTheServer_theRequestIsSentAgainOnANewOne_andDoesNotFail() throws Exception {
    server = FakeServer.start(2, false);
    try (KeepAliveClient client = new KeepAliveClient(server.port())) {
      assertThat(client.get("/1").ok()).isTrue();
      assertThat(client.get("/2").ok()).isTrue();
      KeepAliveClient.Result third = client.get("/3");

      assertThat(third.ok()).isTrue();
      assertThat(third.retried()).isTrue();
      assertThat(client.retries()).isEqualTo(1);
      assertThat(client.closedConnections()).singleElement()
          .satisfies(c -> assertThat(c.closedWithHeader()).isFalse());
      assertThat(client.failures()).isEmpty();
    }
  }

  @Test
  void anAnswerOtherThan200_isAFailure() throws Exception {
    server = FakeServer.start(5, true, 503);
    try (KeepAliveClient client = new KeepAliveClient(server.port())) {
      KeepAliveClient.Result result = client.get("/x");

      assertThat(result.ok()).isFalse();
      assertThat(result.failure()).contains("503");
    }
  }

  /**
   * A fake server: answers {@code perConnection} requests on each connection, then either says
   * {@code Connection: close} with the last answer, or closes the connection silently afterwards
   * (as a server does with an idle connection that reached its age).
   */
  private static final class FakeServer implements AutoCloseable {
    private final ServerSocket socket;
    private final AtomicInteger connections = new AtomicInteger();

    private FakeServer(ServerSocket socket) {
      this.socket = socket;
    }

    static FakeServer start(int perConnection, boolean withHeader) throws IOException {
      return start(perConnection, withHeader, 200);
    }

    static FakeServer start(int perConnection, boolean withHeader, int status) throws IOException {
      FakeServer server = new FakeServer(new ServerSocket(0, 10, InetAddress.getLoopbackAddress()));
      Thread t = new Thread(() -> server.serve(perConnection, withHeader, status), "fake-http-server");
      t.setDaemon(true);
      t.start();
      return server;
    }

    int port() {
      return socket.getLocalPort();
    }

    AtomicInteger connections() {
      return connections;
    }

    private void serve(int perConnection, boolean withHeader, int status) {
      while (!socket.isClosed()) {
        try (Socket s = socket.accept()) {
          connections.incrementAndGet();
          InputStream in = s.getInputStream();
          OutputStream out = s.getOutputStream();
          for (int i = 1; i <= perConnection; i++) {
            if (!readRequest(in)) {
              break;
            }
            boolean last = i == perConnection && withHeader;
            out.write(("HTTP/1.1 " + status + " X\r\nContent-Length: 2\r\n" + (last ? "Connection: close\r\n" : "")
                + "\r\nok").getBytes(StandardCharsets.US_ASCII));
            out.flush();
          }
        } catch (IOException e) {
          // closed
        }
      }
    }

    /** Reads one request's head; false at the end of the stream. */
    private static boolean readRequest(InputStream in) throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      for (int b; (b = in.read()) >= 0; ) {
        head.write(b);
        if (head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
          return true;
        }
      }
      return false;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
