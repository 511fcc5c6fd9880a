package dev.rotor.testkit.clients;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * An HTTP/1.1 client that keeps one connection for as long as the server lets it (persistent
 * connections, RFC 9112 section 9.3): it sends its requests one after another on the same
 * connection, and opens a new one only when the server closed the old one, either by answering
 * with {@code Connection: close} or by closing it while idle; a request the server closed an idle
 * connection under, before any byte of an answer, is sent again on a new connection (the retry an
 * HTTP client makes for an idempotent request). It records how long each connection lived.
 *
 * <p>One thread at a time calls {@link #get}; the records are guarded by {@code this}, so another
 * thread may read them meanwhile.
 */
public final class KeepAliveClient implements AutoCloseable {
  private static final int TIMEOUT_MILLIS = 10_000;

  /**
   * One connection's life: when it opened, when the client saw it closed (an upper bound: an idle
   * close is seen at the next request), and the requests it carried.
   */
  public record Connection(Instant opened, Instant closed, int requests, boolean closedWithHeader) {
    public Duration age() {
      return Duration.between(opened, closed);
    }
  }

  /** One request: when, whether it got 200, what went wrong if not, and whether it was sent twice. */
  public record Result(Instant started, Instant ended, boolean ok, String failure, boolean retried) {}

  private final int port;
  private final List<Connection> closed = new ArrayList<>();
  private final List<String> failures = new ArrayList<>();
  private int retries;
  private Socket socket;
  private InputStream in;
  private Instant opened;
  private int requests;

  public KeepAliveClient(int port) {
    this.port = port;
  }

  /** {@code GET path} on the current connection (a new one if there is none); records failures. */
  public Result get(String path) {
    Instant started = Instant.now();
    int failuresBefore = failures().size();
    int retriesBefore = retries();
    send(path);
    List<String> failed = failures();
    return new Result(started, Instant.now(), failed.size() == failuresBefore,
        failed.size() == failuresBefore ? "" : failed.get(failed.size() - 1), retries() > retriesBefore);
  }

  private void send(String path) {
    for (int attempt = 0; attempt < 2; attempt++) {
      String status;
      boolean reused = socket != null;
      try {
        if (socket == null) {
          open();
        }
        OutputStream out = socket.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: backend\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        status = readLine();
      } catch (IOException e) {
        if (reused) {
          // A reset instead of an end of stream: the same idle close, seen from the other side.
          end(false);
          retried();
          continue;
        }
        failed(Instant.now() + " " + path + ": " + e);
        end(false);
        return;
      }
      try {
        if (status == null) {
          // Closed while idle, before any byte of an answer: the server's to close; send again.
          end(false);
          retried();
          continue;
        }
        requests++;
        boolean close = readHeadersAndBody();
        if (!status.startsWith("HTTP/1.1 200 ")) {
          failed(Instant.now() + " " + path + ": " + status);
        }
        if (close) {
          end(true);
        }
        return;
      } catch (IOException e) {
        failed(Instant.now() + " " + path + ": " + e);
        end(false);
        return;
      }
    }
    failed(Instant.now() + " " + path + ": the server closed two fresh connections without answering");
  }

  public synchronized List<Connection> closedConnections() {
    return List.copyOf(closed);
  }

  public synchronized List<String> failures() {
    return List.copyOf(failures);
  }

  /** Requests sent again because the server had closed the idle connection under them. */
  public synchronized int retries() {
    return retries;
  }

  /** When the connection in use opened, while there is one. */
  public synchronized Optional<Instant> openSince() {
    return socket == null ? Optional.empty() : Optional.of(opened);
  }

  private synchronized void failed(String failure) {
    failures.add(failure);
  }

  private synchronized void retried() {
    retries++;
  }

  private void open() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
    s.setSoTimeout(TIMEOUT_MILLIS);
    in = new BufferedInputStream(s.getInputStream());
    synchronized (this) {
      socket = s;
      opened = Instant.now();
    }
    requests = 0;
  }

  /** Reads the headers and the Content-Length body; true when the server said Connection: close. */
  private boolean readHeadersAndBody() throws IOException {
    int length = 0;
    boolean close = false;
    for (String line; (line = readLine()) != null && !line.isEmpty(); ) {
      String lower = line.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Integer.parseInt(lower.substring("content-length:".length()).strip());
      } else if (lower.startsWith("connection:") && lower.contains("close")) {
        close = true;
      }
    }
    in.readNBytes(length);
    return close;
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b; (b = in.read()) >= 0; ) {
      if (b == '\n') {
        return line.toString(StandardCharsets.US_ASCII).stripTrailing();
      }
      line.write(b);
    }
    return line.size() == 0 ? null : line.toString(StandardCharsets.US_ASCII);
  }

  private synchronized void end(boolean withHeader) {
    if (socket != null) {
      closed.add(new Connection(opened, Instant.now(), requests, withHeader));
      try {
        socket.close();
      } catch (IOException e) {
        // closing what the server already closed
      }
      socket = null;
    }
  }

  @Override
  public synchronized void close() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException e) {
        // nothing left to do
      }
    }
  }
}
