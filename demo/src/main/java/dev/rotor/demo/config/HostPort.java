package dev.rotor.demo.config;

import static java.util.Objects.requireNonNull;

import java.net.InetSocketAddress;

/** An address to listen on or connect to, written {@code host:port}. */
public record HostPort(String host, int port) {

  public HostPort {
    requireNonNull(host, "host");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host: empty (expected e.g. 127.0.0.1)");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
    }
  }

  /**
   * Parses {@code host:port}, e.g. {@code 127.0.0.1:9090}.
   *
   * @throws IllegalArgumentException with the problem and the expected form
   */
  public static HostPort parse(String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException("\"" + value + "\" is not host:port (expected e.g. 127.0.0.1:9090)");
    }
    String host = value.substring(0, colon);
    String port = value.substring(colon + 1);
    if (!port.chars().allMatch(Character::isDigit) || port.length() > 5) {
      throw new IllegalArgumentException("\"" + value + "\": port \"" + port + "\" is not a number (expected 0..65535)");
    }
    int p = Integer.parseInt(port);
    if (p > 65535) {
      throw new IllegalArgumentException("\"" + value + "\": port " + p + " is out of range (expected 0..65535)");
    }
    return new HostPort(host, p);
  }

  public InetSocketAddress socketAddress() {
    return new InetSocketAddress(host, port);
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
