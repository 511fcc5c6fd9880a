package dev.rotor.testkit.clients;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * An application calling through an Envoy's plain-text listener on 127.0.0.1, one new TCP
 * connection per call (as an application without a connection pool does), so each call makes
 * Envoy open, and handshake, a new upstream connection.
 */
public final class PlainClient {
  private static final int TIMEOUT_MILLIS = 10_000;

  private PlainClient() {}

  /** The status of {@code GET path} over a new connection, or -1 when the connection closed without one. */
  public static int httpStatus(int port, String path) {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(TIMEOUT_MILLIS);
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String status = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
      return status != null && status.startsWith("HTTP/1.1 ") ? Integer.parseInt(status.substring(9, 12)) : -1;
    } catch (IOException e) {
      return -1;
    }
  }

  /** The line echoed back over a new connection, or empty when the connection closed without it. */
  public static Optional<String> echo(int port, String line) {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(TIMEOUT_MILLIS);
      socket.getOutputStream().write((line + "\n").getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      return Optional.ofNullable(new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine());
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
