package dev.rotor.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * HTTP over plain sockets, for tests that must control every byte: a slowloris client that sends
 * part of a request and stalls, and a probe whose every read is bounded by a timeout (an HTTP
 * client library would retry, pool or wait in ways the test cannot see).
 */
public final class RawHttp {
  private RawHttp() {}

  /** A response as read off the wire. */
  public record Response(int status, String head, String body) {}

  /**
   * Opens a connection and sends {@code partial} (a request that never ends, e.g. {@code "G"}),
   * then leaves it open; the caller closes it.
   */
  public static Socket stall(InetSocketAddress address, String partial) {
    try {
      Socket s = new Socket();
      s.connect(address, 5_000);
      s.getOutputStream().write(partial.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      return s;
    } catch (IOException e) {
      throw new UncheckedIOException("stalled connection to " + address, e);
    }
  }

  /**
   * {@code GET path} and the whole response (the server closes the connection after it), each
   * connect and read bounded by {@code timeout}.
   *
   * @throws AssertionError when the server does not answer within the timeout
   */
  public static Response get(InetSocketAddress address, String path, Duration timeout) {
    return exchange(address, "GET " + path + " HTTP/1.1\r\nHost: probe\r\nUser-Agent: kube-probe/1.30\r\n\r\n", timeout);
  }

  /** Sends {@code request} as it is and reads the response until the server closes the connection. */
  public static Response exchange(InetSocketAddress address, String request, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Socket s = new Socket()) {
      s.connect(address, (int) timeout.toMillis());
      s.setSoTimeout((int) timeout.toMillis());
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[8192];
      for (int n; (n = in.read(buf)) >= 0; ) {
        all.write(buf, 0, n);
        if (System.nanoTime() > deadline) {
          throw new AssertionError("GET on " + address + " took longer than " + timeout);
        }
      }
      String text = all.toString(StandardCharsets.ISO_8859_1);
      int split = text.indexOf("\r\n\r\n");
      if (!text.startsWith("HTTP/1.") || split < 0) {
        throw new AssertionError("not an HTTP response from " + address + ": " + text);
      }
      int status = Integer.parseInt(text.substring(9, 12));
      return new Response(status, text.substring(0, split), text.substring(split + 4));
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no answer from " + address + " within " + timeout + " to " + request.lines().findFirst()
          .orElse(""), e);
    } catch (IOException e) {
      throw new UncheckedIOException("exchange with " + address, e);
    }
  }

  /** Whether the server closed {@code s} (a read returns end of stream) within {@code timeout}. */
  public static boolean closedByServer(Socket s, Duration timeout) {
    try {
      s.setSoTimeout((int) timeout.toMillis());
      InputStream in = s.getInputStream();
      byte[] buf = new byte[4096];
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        if (in.read(buf) < 0) {
          return true;
        }
      }
      return false;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset: closed as well
    }
  }
}
