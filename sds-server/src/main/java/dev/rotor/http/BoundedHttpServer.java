package dev.rotor.http;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import dev.rotor.text.EchoedText;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small HTTP/1.1 server for Rotor's probe and metrics endpoints (admin {@code /healthz},
 * {@code /readyz}, {@code /metrics}, {@code /status}; write-certs' health listener), in which no
 * client can hold a thread or keep a connection open past its deadline.
 *
 * <p><b>Why not the JDK's {@code com.sun.net.httpserver}</b>, which served these before: it reads
 * each request line and its headers with blocking reads on its executor's threads and has no
 * per-server read timeout, so two connections that sent one byte each stalled the admin endpoint's
 * two threads, and one stalled write-certs' health listener, for as long as they stayed open
 * (issue 13, finding 4): kubelet's liveness probe then failed and restarted a healthy Rotor. Its
 * only timeouts are JVM-wide system properties. grpc's Netty is shaded and not meant for reuse;
 * Jetty or Armeria would add megabytes for four GET endpoints.
 *
 * <p><b>How it is bounded.</b> One selector thread accepts, reads and writes, never blocking; a
 * connection costs a buffer of at most {@value HttpLimits#MAX_REQUEST_HEAD_BYTES} bytes, never a
 * thread. Only a complete request head reaches the handler threads. Each connection has a deadline:
 * {@link HttpLimits#requestTimeout()} to send its request, then {@link
 * HttpLimits#responseTimeout()} for the response to be computed and read; past it the connection is
 * closed. At {@link HttpLimits#maxConnections()}, the oldest connection still sending its request
 * is closed to admit the new one: stalled connections are evicted, a probe that sends its request
 * at once is not. Every response carries {@code Connection: close}, so there is no idle keep-alive
 * state. Methods other than GET and HEAD, and request bodies, are not served.
 *
 * <p>Every refusal is counted by {@link Refusal} ({@link #refusals()}) and logged at debug only: an
 * attacker decides how many there are.
 */
public final class BoundedHttpServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(BoundedHttpServer.class);

  /** A request as the handler sees it: the method and the path, without query string. */
  public record Request(String method, String path) {
    public Request {
      requireNonNull(method, "method");
      requireNonNull(path, "path");
    }

    public boolean head() {
      return method.equals("HEAD");
    }
  }

  /** A whole response; {@code extraHeaders} are added to Content-Type, Content-Length and the rest. */
  public record Response(int status, String contentType, byte[] body, Map<String, String> extraHeaders) {
    public Response {
      if (status < 100 || status > 599) {
        throw new IllegalArgumentException("status: " + status + " (expected: 100..599)");
      }
      requireNonNull(contentType, "contentType");
      requireNonNull(body, "body");
      extraHeaders = Map.copyOf(extraHeaders);
    }

    public Response(int status, String contentType, byte[] body) {
      this(status, contentType, body, Map.of());
    }
  }

  /** Computes the response to one request; runs on a handler thread. */
  @FunctionalInterface
  public interface Handler {
    Response handle(Request request) throws Exception;
  }

  /** Why a connection was closed without a response from the handler. */
  public enum Refusal {
    /** The request head did not arrive within the request timeout. */
    REQUEST_TIMEOUT,
    /** The response was not computed and read within the response timeout. */
    RESPONSE_TIMEOUT,
    /** Closed to stay within the connection limit (the oldest stalled one, or the new one). */
    CONNECTION_LIMIT,
    /** The request head was larger than {@value HttpLimits#MAX_REQUEST_HEAD_BYTES} bytes (answered 431). */
    REQUEST_TOO_LARGE,
    /** Not an HTTP/1.x request line (answered 400). */
    BAD_REQUEST
  }

  private enum State { READING, HANDLING, WRITING }

  /** One connection; touched only by the selector thread. */
  private static final class Conn {
    final SocketChannel channel;
    final SelectionKey key;
    final ByteBuffer in = ByteBuffer.allocate(HttpLimits.MAX_REQUEST_HEAD_BYTES);
    ByteBuffer out;
    State state = State.READING;
    long deadlineNanos;

    Conn(SocketChannel channel, SelectionKey key, long deadlineNanos) {
      this.channel = channel;
      this.key = key;
      this.deadlineNanos = deadlineNanos;
    }
  }

  /** A response computed by a handler thread, for the selector thread to write. */
  private record Computed(Conn conn, byte[] bytes) {}

  private final String name;
  private final HttpLimits limits;
  private final Handler handler;
  private final Selector selector;
  private final ServerSocketChannel server;
  private final ThreadPoolExecutor handlers;
  private final Thread io;
  private final Queue<Computed> computed = new ConcurrentLinkedQueue<>();
  private final Map<Refusal, LongAdder> refusals = new EnumMap<>(Refusal.class);
  private volatile boolean closed;
  private volatile int open;
  // Selector thread only: open connections in the order they were accepted.
  private final Set<Conn> conns = new LinkedHashSet<>();

  private BoundedHttpServer(String name, HttpLimits limits, Handler handler, Selector selector,
      ServerSocketChannel server) {
    this.name = name;
    this.limits = limits;
    this.handler = handler;
    this.selector = selector;
    this.server = server;
    for (Refusal r : Refusal.values()) {
      refusals.put(r, new LongAdder());
    }
    // The queue cannot outgrow the connection limit: a connection has at most one request in it.
    this.handlers = new ThreadPoolExecutor(limits.handlerThreads(), limits.handlerThreads(), 0, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(limits.maxConnections()),
        new ThreadFactoryBuilder().setNameFormat(name + "-%d").setDaemon(true).build());
    this.io = new ThreadFactoryBuilder().setNameFormat(name + "-io").setDaemon(true).build().newThread(this::run);
  }

  /**
   * Listens on {@code address} (port 0: any free port) and serves {@code handler}.
   *
   * @param name names the threads ({@code name-io}, {@code name-0}, ...) and the log lines
   * @throws IOException when the address cannot be bound (in use, not local, ...)
   */
  public static BoundedHttpServer start(String name, InetSocketAddress address, HttpLimits limits, Handler handler)
      throws IOException {
    requireNonNull(name, "name");
    requireNonNull(address, "address");
    requireNonNull(limits, "limits");
    requireNonNull(handler, "handler");
    Selector selector = Selector.open();
    ServerSocketChannel server = ServerSocketChannel.open();
    try {
      server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
      server.bind(address, limits.maxConnections());
      server.configureBlocking(false);
      server.register(selector, SelectionKey.OP_ACCEPT);
    } catch (IOException | RuntimeException e) {
      server.close();
      selector.close();
      throw e;
    }
    BoundedHttpServer s = new BoundedHttpServer(name, limits, handler, selector, server);
    s.io.start();
    return s;
  }

  /** The bound address (the chosen port when asked for port 0). */
  public InetSocketAddress address() {
    try {
      return (InetSocketAddress) server.getLocalAddress();
    } catch (IOException e) {
      throw new IllegalStateException("server socket closed", e);
    }
  }

  /** Connections refused or cut, by reason, since start. */
  public Map<Refusal, Long> refusals() {
    Map<Refusal, Long> m = new EnumMap<>(Refusal.class);
    refusals.forEach((r, n) -> m.put(r, n.sum()));
    return m;
  }

  /** Connections open now. */
  public int openConnections() {
    return open;
  }

  /** Stops listening, closes every connection and stops the threads (a response in progress is cut). */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    selector.wakeup();
    try {
      io.join(TimeUnit.SECONDS.toMillis(2));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    handlers.shutdownNow();
  }

  // ---- the selector thread ----

  private void run() {
    try {
      while (!closed) {
        long now = System.nanoTime();
        long nextDeadline = expire(now);
        long waitMillis = Math.max(1, Math.min(1_000, TimeUnit.NANOSECONDS.toMillis(nextDeadline - now) + 1));
        selector.select(waitMillis);
        for (Computed c; (c = computed.poll()) != null; ) {
          startWriting(c.conn(), c.bytes());
        }
        Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
        while (keys.hasNext()) {
          SelectionKey key = keys.next();
          keys.remove();
          try {
            if (!key.isValid()) {
              continue;
            }
            if (key.isAcceptable()) {
              accept();
            } else if (key.isReadable()) {
              read((Conn) key.attachment());
            } else if (key.isWritable()) {
              write((Conn) key.attachment());
            }
          } catch (CancelledKeyException e) {
            // closed meanwhile
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      if (!closed) {
        log.atError().setCause(e).addKeyValue("server", name).log("HTTP server stopped unexpectedly");
      }
    } finally {
      for (Conn c : conns) {
        closeQuietly(c.channel);
      }
      conns.clear();
      open = 0;
      closeQuietly(server);
      try {
        selector.close();
      } catch (IOException ignored) {
        // nothing left to do
      }
    }
  }

  /** Closes connections past their deadline; returns the earliest deadline left. */
  private long expire(long now) {
    long next = now + TimeUnit.SECONDS.toNanos(1);
    Iterator<Conn> it = conns.iterator();
    while (it.hasNext()) {
      Conn c = it.next();
      if (c.deadlineNanos - now <= 0) {
        it.remove();
        drop(c, c.state == State.READING ? Refusal.REQUEST_TIMEOUT : Refusal.RESPONSE_TIMEOUT);
      } else if (c.deadlineNanos - next < 0) {
        next = c.deadlineNanos;
      }
    }
    open = conns.size();
    return next;
  }

  private void accept() throws IOException {
    SocketChannel ch;
    while ((ch = server.accept()) != null) {
      if (conns.size() >= limits.maxConnections() && !evictOldestReading()) {
        count(Refusal.CONNECTION_LIMIT, "connection refused: at the connection limit and none is stalled");
        closeQuietly(ch);
        continue;
      }
      try {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        SelectionKey key = ch.register(selector, SelectionKey.OP_READ);
        Conn c = new Conn(ch, key, System.nanoTime() + limits.requestTimeout().toNanos());
        key.attach(c);
        conns.add(c);
        open = conns.size();
      } catch (IOException e) {
        closeQuietly(ch);
      }
    }
  }

  /** Makes room by closing the connection that has waited longest without sending its request. */
  private boolean evictOldestReading() {
    for (Iterator<Conn> it = conns.iterator(); it.hasNext(); ) {
      Conn c = it.next();
      if (c.state == State.READING) {
        it.remove();
        drop(c, Refusal.CONNECTION_LIMIT);
        return true;
      }
    }
    return false;
  }

  private void read(Conn c) {
    int n;
    try {
      n = c.channel.read(c.in);
    } catch (IOException e) {
      forget(c);
      return;
    }
    if (n < 0) {
      forget(c); // the client gave up before its request was complete
      return;
    }
    int end = endOfHead(c.in);
    if (end < 0) {
      if (!c.in.hasRemaining()) {
        count(Refusal.REQUEST_TOO_LARGE, "request head too large");
        respondNow(c, plain(431, "request header fields too large (expected at most "
            + HttpLimits.MAX_REQUEST_HEAD_BYTES + " bytes)"), false);
      }
      return;
    }
    String head = new String(c.in.array(), 0, end, StandardCharsets.ISO_8859_1);
    Request request = parseRequestLine(head.substring(0, lineEnd(head)));
    if (request == null) {
      count(Refusal.BAD_REQUEST, "not an HTTP/1.x request line");
      respondNow(c, plain(400, "bad request (expected an HTTP/1.1 request line such as GET /healthz HTTP/1.1)"), false);
      return;
    }
    c.state = State.HANDLING;
    c.key.interestOps(0);
    c.deadlineNanos = System.nanoTime() + limits.responseTimeout().toNanos();
    try {
      handlers.execute(() -> {
        byte[] bytes = serialize(respond(request), request.head());
        computed.add(new Computed(c, bytes));
        selector.wakeup();
      });
    } catch (RejectedExecutionException e) {
      respondNow(c, plain(503, "busy (try again)"), request.head());
    }
  }

  private Response respond(Request request) {
    try {
      return handler.handle(request);
    } catch (Exception | Error e) {
      if (e instanceof VirtualMachineError vme) {
        throw vme;
      }
      log.atWarn().setCause(e).addKeyValue("server", name).addKeyValue("path", EchoedText.clip(request.path(), 100))
          .log("HTTP request failed");
      return new Response(500, "application/json", "{\"error\":\"internal error\"}".getBytes(StandardCharsets.UTF_8));
    }
  }

  private void respondNow(Conn c, Response r, boolean head) {
    startWriting(c, serialize(r, head));
  }

  private void startWriting(Conn c, byte[] bytes) {
    if (!conns.contains(c)) {
      return; // timed out or evicted while the handler worked
    }
    c.state = State.WRITING;
    c.out = ByteBuffer.wrap(bytes);
    c.deadlineNanos = Math.min(c.deadlineNanos, System.nanoTime() + limits.responseTimeout().toNanos());
    write(c);
  }

  private void write(Conn c) {
    try {
      c.channel.write(c.out);
    } catch (IOException e) {
      forget(c);
      return;
    }
    if (c.out.hasRemaining()) {
      c.key.interestOps(SelectionKey.OP_WRITE);
    } else {
      forget(c); // Connection: close
    }
  }

  /** Closes a connection whose exchange ended (or failed on the client's side). */
  private void forget(Conn c) {
    conns.remove(c);
    open = conns.size();
    closeQuietly(c.channel);
  }

  /** Closes a connection that was refused or cut, counting why. */
  private void drop(Conn c, Refusal why) {
    count(why, "connection closed");
    closeQuietly(c.channel);
  }

  private void count(Refusal why, String what) {
    refusals.get(why).increment();
    log.atDebug().addKeyValue("server", name).addKeyValue("reason", why.name().toLowerCase(java.util.Locale.ROOT))
        .log(what);
  }

  // ---- HTTP/1.1 text ----

  /** The index just past the blank line that ends the request head, or -1. */
  static int endOfHead(ByteBuffer in) {
    byte[] a = in.array();
    int limit = in.position();
    for (int i = 0; i < limit; i++) {
      if (a[i] == '\n') {
        if (i + 1 < limit && a[i + 1] == '\n') {
          return i + 2;
        }
        if (i + 2 < limit && a[i + 1] == '\r' && a[i + 2] == '\n') {
          return i + 3;
        }
      }
    }
    return -1;
  }

  private static int lineEnd(String head) {
    int n = head.indexOf('\n');
    return n > 0 && head.charAt(n - 1) == '\r' ? n - 1 : n;
  }

  /** {@code METHOD SP origin-form SP HTTP/1.x}, or null. */
  static Request parseRequestLine(String line) {
    String[] parts = line.split(" ", -1);
    if (parts.length != 3 || !parts[2].startsWith("HTTP/1.") || parts[0].isEmpty() || !parts[1].startsWith("/")) {
      return null;
    }
    for (int i = 0; i < parts[0].length(); i++) {
      char ch = parts[0].charAt(i);
      if (ch < 'A' || ch > 'Z') {
        return null;
      }
    }
    String target = parts[1];
    int q = target.indexOf('?');
    int h = target.indexOf('#');
    int end = q < 0 ? h : h < 0 ? q : Math.min(q, h);
    return new Request(parts[0], end < 0 ? target : target.substring(0, end));
  }

  static byte[] serialize(Response r, boolean head) {
    StringBuilder b = new StringBuilder(160)
        .append("HTTP/1.1 ").append(r.status()).append(' ').append(reason(r.status())).append("\r\n")
        .append("Content-Type: ").append(r.contentType()).append("\r\n")
        .append("Content-Length: ").append(r.body().length).append("\r\n")
        .append("Cache-Control: no-store\r\n")
        .append("Connection: close\r\n");
    r.extraHeaders().forEach((k, v) -> b.append(k).append(": ").append(v).append("\r\n"));
    byte[] headBytes = b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    if (head) {
      return headBytes;
    }
    byte[] all = new byte[headBytes.length + r.body().length];
    System.arraycopy(headBytes, 0, all, 0, headBytes.length);
    System.arraycopy(r.body(), 0, all, headBytes.length, r.body().length);
    return all;
  }

  private static Response plain(int status, String message) {
    return new Response(status, "text/plain; charset=utf-8", (message + "\n").getBytes(StandardCharsets.UTF_8));
  }

  private static String reason(int status) {
    return switch (status) {
      case 200 -> "OK";
      case 400 -> "Bad Request";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 431 -> "Request Header Fields Too Large";
      case 500 -> "Internal Server Error";
      case 503 -> "Service Unavailable";
      default -> "Status";
    };
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // closing is all that was wanted
    }
  }
}
