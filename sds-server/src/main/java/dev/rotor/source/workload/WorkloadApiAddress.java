package dev.rotor.source.workload;

import static java.util.Objects.requireNonNull;

import com.google.common.net.InetAddresses;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Where the SPIFFE Workload API is served: a Unix domain socket or a TCP address, as the SPIFFE
 * Workload Endpoint specification writes it ({@code unix:///absolute/path}, {@code
 * tcp://IP:PORT}). A bare absolute path is accepted too and means a Unix socket, because
 * spiffe-helper's {@code agent_address} and many deployments write it that way.
 */
public sealed interface WorkloadApiAddress permits WorkloadApiAddress.Unix, WorkloadApiAddress.Tcp {

  /** The command-line flag that names the address; error messages refer to it. */
  String FLAG = "--workload-api";

  /** The environment variable the SPIFFE Workload Endpoint specification defines. */
  String ENV = "SPIFFE_ENDPOINT_SOCKET";

  /** The address in URI form, e.g. {@code unix:///run/spire/agent.sock}; used in logs. */
  String uri();

  /** A Unix domain socket, by absolute path. */
  record Unix(Path path) implements WorkloadApiAddress {
    public Unix {
      requireNonNull(path, "path");
      if (!path.isAbsolute()) {
        throw new IllegalArgumentException("path: " + path + " is relative (expected an absolute socket path)");
      }
    }

    @Override
    public String uri() {
      return "unix://" + path;
    }
  }

  /** A TCP address: an IP literal (never a host name, per the specification) and a port. */
  record Tcp(InetAddress ip, int port) implements WorkloadApiAddress {
    public Tcp {
      requireNonNull(ip, "ip");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 1 to 65535)");
      }
    }

    @Override
    public String uri() {
      return "tcp://" + InetAddresses.toUriString(ip) + ":" + port;
    }
  }

  /**
   * Parses the value of {@value #FLAG}.
   *
   * @throws IllegalArgumentException naming {@value #FLAG}, the value and what was expected
   */
  static WorkloadApiAddress parse(String value) {
    return parse(FLAG, value);
  }

  /**
   * The address the CLI should use: the flag value if given, else {@value #ENV} from {@code
   * environment} if set and not blank, else none. A bad flag value is an error naming {@value
   * #FLAG}; a bad environment value is an error naming {@value #ENV}, so the user knows which one
   * to fix.
   *
   * @param flagValue the flag's value, or null when the flag was not given
   * @param environment usually {@code System.getenv()}
   */
  static Optional<WorkloadApiAddress> resolve(String flagValue, Map<String, String> environment) {
    requireNonNull(environment, "environment");
    if (flagValue != null) {
      return Optional.of(parse(FLAG, flagValue));
    }
    String fromEnv = environment.get(ENV);
    if (fromEnv == null || fromEnv.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(parse(ENV, fromEnv));
  }

  /** Parses {@code value}, an address given by {@code field} (a flag or variable), naming it in errors. */
  static WorkloadApiAddress parse(String field, String value) {
    requireNonNull(value, "value");
    if (value.startsWith("/")) {
      return unix(field, value, value);
    }
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      throw notASocketAddress(field, value);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    switch (scheme) {
      case "unix":
        return unix(field, value, uri);
      case "tcp":
        return tcp(field, value, uri);
      default:
        throw notASocketAddress(field, value);
    }
  }

  private static Unix unix(String field, String value, URI uri) {
    if (uri.isOpaque() || uri.getPath() == null) {
      throw notASocketAddress(field, value); // unix:relative/path
    }
    if (uri.getRawAuthority() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw new IllegalArgumentException(String.format(
          "%s: \"%s\" is not a unix socket address (expected unix:///absolute/path, with no host, query or fragment)",
          field, value));
    }
    return unix(field, value, uri.getPath());
  }

  private static Unix unix(String field, String value, String path) {
    if (!path.startsWith("/") || path.endsWith("/")) {
      throw notASocketAddress(field, value);
    }
    try {
      return new Unix(Path.of(path));
    } catch (InvalidPathException e) { // a NUL character: no file system path can hold it
      throw new IllegalArgumentException(String.format(
          "%s: \"%s\" is not a valid socket path (%s)", field, value, e.getReason()), e);
    }
  }

  private static Tcp tcp(String field, String value, URI uri) {
    String host = uri.isOpaque() ? null : uri.getHost();
    if (host == null || uri.getPort() == -1) {
      throw tcpError(field, value, "");
    }
    if (uri.getRawUserInfo() != null
        || !uri.getRawPath().isEmpty()
        || uri.getRawQuery() != null
        || uri.getRawFragment() != null) {
      throw tcpError(field, value, " with no path, query or fragment");
    }
    if (!InetAddresses.isUriInetAddress(host)) {
      throw tcpError(field, value, "; the host must be an IP address, not a name");
    }
    if (uri.getPort() < 1 || uri.getPort() > 65535) {
      throw tcpError(field, value, " with a port from 1 to 65535");
    }
    return new Tcp(InetAddresses.forUriString(host), uri.getPort());
  }

  private static IllegalArgumentException notASocketAddress(String field, String value) {
    return new IllegalArgumentException(String.format(
        "%s: \"%s\" is not a socket address (expected unix:///absolute/path, /absolute/path or tcp://IP:PORT)",
        field, value));
  }

  private static IllegalArgumentException tcpError(String field, String value, String detail) {
    return new IllegalArgumentException(String.format(
        "%s: \"%s\" is not a TCP socket address (expected tcp://IP:PORT%s)", field, value, detail));
  }
}
