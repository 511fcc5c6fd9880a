package dev.rotor.testkit.demo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A client that keeps one HTTP/1.1 connection open and uses it for every request, as long as the
 * server lets it: through the frontend Envoy's outbound listener, where each client connection is
 * one mutual-TLS connection to the backend's Envoy (TCP proxy), made with the certificates both
 * Envoys held when it opened. It records when each connection opened and when it saw it closed
 * (the server said {@code Connection: close}, or had closed it), so a test can tell whether any
 * connection outlived the certificates it was made with.
 *
 * <p>A request that finds its kept-alive connection already closed by the server, before a single
 * byte of an answer, is sent again once on a new connection, as HTTP clients do for idempotent
 * requests (RFC 9110, 9.2.2) and as Java's own client does; such retries are counted. Anything
 * else (no answer, a broken answer, any status but 200) is a failed request. Only the client's
 * thread touches the socket; the records are guarded by {@code this}.
 */
public final class LongLivedClient implements AutoCloseable {
  public static final String NAME = "keep-alive";

  private static final int TIMEOUT_MILLIS = 10_000;

  /** One connection; {@code closed} is empty while it is open (the time it was seen closed, an upper bound). */
  public record Connection(int number, Instant opened, Optional<Instant> closed, int requests, String closedBy) {
    public Optional<Duration> age() {
      return closed.map(c -> Duration.between(opened, c));
    }
  }

  /** One request: on which connection it was answered, and whether it had to be sent again. */
  public record Request(Instant started, Instant ended, boolean ok, int status, int connection, boolean retried,
      String error) {}

  private final int port;
  private final String path;
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keep-alive-client");
    t.setDaemon(true);
    return t;
  });
  private final List<Connection> connections = new ArrayList<>();
  private final List<Request> requests = new ArrayList<>();
  private Socket socket;
  private int requestsOnSocket;

  private LongLivedClient(int port, String path) {
    this.port = port;
    this.path = path;
  }

  public static LongLivedClient start(int port, String path, Duration period) {
    LongLivedClient client = new LongLivedClient(port, path);
    client.thread.scheduleWithFixedDelay(client::requestOnce, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    return client;
  }

  private void requestOnce() {
    Instant started = Instant.now();
    boolean reused = socket != null && !closedByServer();
    boolean retried = false;
    int status;
    String error = "";
    try {
      if (!reused) {
        open();
      }
      Optional<Integer> answer = exchange();
      if (answer.isEmpty() && reused) {
        // Closed by the server just as we sent: nothing was processed, send it again.
        closed("server closed the idle connection as the request was sent");
        retried = true;
        open();
        answer = exchange();
      }
      status = answer.orElse(0);
      if (answer.isEmpty()) {
        error = "connection closed without an answer";
        closed("server closed it without answering");
      }
    } catch (IOException e) {
      status = 0;
      error = e.toString();
      closed("broken: " + e);
    }
    Request request = new Request(started, Instant.now(), status == 200, status, connections.size(), retried,
        status == 200 || !error.isEmpty() ? error : "HTTP " + status);
    synchronized (this) {
      requests.add(request);
    }
  }

  /** Whether the server has closed the kept-alive connection (a read that finds the end at once). */
  private boolean closedByServer() {
    try {
      socket.setSoTimeout(1);
      int b = socket.getInputStream().read();
      if (b < 0) {
        closed("server closed the idle connection");
        return true;
      }
      closed("server sent " + b + " unasked");
      return true;
    } catch (SocketTimeoutException alive) {
      return false;
    } catch (IOException e) {
      closed("broken while idle: " + e);
      return true;
    }
  }

  private void open() throws IOException {
    socket = new Socket(InetAddress.getLoopbackAddress(), port);
    requestsOnSocket = 0;
    synchronized (this) {
      connections.add(new Connection(connections.size() + 1, Instant.now(), Optional.empty(), 0, ""));
    }
  }

  /** Sends the request and reads one answer; empty when the connection ended before any of it. */
  private Optional<Integer> exchange() throws IOException {
    socket.setSoTimeout(TIMEOUT_MILLIS);
    OutputStream out = socket.getOutputStream();
    try {
      out.write(("GET " + path + " HTTP/1.1\r\nHost: backend\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
    } catch (IOException e) {
      return Optional.empty();
    }
    InputStream in = socket.getInputStream();
    String statusLine;
    try {
      statusLine = line(in);
    } catch (IOException e) {
      return Optional.empty();
    }
    if (statusLine == null) {
      return Optional.empty();
    }
    if (!statusLine.startsWith("HTTP/1.1 ")) {
      throw new IOException("not an HTTP/1.1 status line: " + statusLine);
    }
    int status = Integer.parseInt(statusLine.substring(9, 12));
    long length = -1;
    boolean chunked = false;
    boolean close = false;
    for (String header; !(header = requireLine(in)).isEmpty(); ) {
      String lower = header.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(lower.substring(15).strip());
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      } else if (lower.startsWith("connection:") && lower.contains("close")) {
        close = true;
      }
    }
    if (chunked) {
      for (long size; (size = Long.parseLong(requireLine(in).split(";")[0].strip(), 16)) > 0; ) {
        skip(in, size);
        requireLine(in);
      }
      while (!requireLine(in).isEmpty()) {
        // trailers
      }
    } else if (length >= 0) {
      skip(in, length);
    } else {
      throw new IOException("answer with neither Content-Length nor chunked encoding");
    }
    requestsOnSocket++;
    if (close) {
      closed("server said Connection: close");
    }
    return Optional.of(status);
  }

  /** Records the current connection as closed now (if one is open) and drops the socket. */
  private void closed(String by) {
    if (socket == null) {
      return;
    }
    try {
      socket.close();
    } catch (IOException ignored) {
      // Closing a socket the server already closed.
    }
    socket = null;
    synchronized (this) {
      Connection open = connections.get(connections.size() - 1);
      connections.set(connections.size() - 1,
          new Connection(open.number(), open.opened(), Optional.of(Instant.now()), requestsOnSocket, by));
    }
  }

  private static String requireLine(InputStream in) throws IOException {
    String line = line(in);
    if (line == null) {
      throw new IOException("the connection ended inside an answer");
    }
    return line;
  }

  /** One CRLF-terminated line, or null at the end of the stream before any byte of it. */
  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int b; (b = in.read()) >= 0; ) {
      if (b == '\n') {
        String s = bytes.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      bytes.write(b);
    }
    if (bytes.size() == 0) {
      return null;
    }
    throw new IOException("the connection ended inside a line");
  }

  private static void skip(InputStream in, long n) throws IOException {
    try {
      in.skipNBytes(n);
    } catch (java.io.EOFException e) {
      throw new IOException("the connection ended inside an answer's body", e);
    }
  }

  public synchronized List<Connection> connections() {
    return List.copyOf(connections);
  }

  public synchronized List<Request> requests() {
    return List.copyOf(requests);
  }

  @Override
  public void close() {
    thread.shutdownNow();
    try {
      thread.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // Best effort at the end.
      }
    }
  }
}
