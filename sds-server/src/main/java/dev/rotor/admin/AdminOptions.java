package dev.rotor.admin;

import static java.util.Objects.requireNonNull;

import dev.rotor.http.HttpLimits;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;

/**
 * The admin HTTP endpoint of {@code rotor serve}.
 *
 * @param address where to listen; empty when disabled ({@code --admin-address off})
 * @param readyExpiryMargin {@code /readyz} fails while the served SVID expires sooner than this
 * @param http deadlines and the connection limit ({@code --admin-request-timeout}, {@code
 *     --admin-max-connections})
 */
public record AdminOptions(Optional<InetSocketAddress> address, Duration readyExpiryMargin, HttpLimits http) {

  /** Loopback only: /status names every Envoy and identity, and nothing here needs to be remote. */
  public static final String DEFAULT_ADDRESS = "127.0.0.1:9902";
  public static final Duration DEFAULT_READY_EXPIRY_MARGIN = Duration.ofSeconds(30);

  public AdminOptions {
    requireNonNull(address, "address");
    requireNonNull(readyExpiryMargin, "readyExpiryMargin");
    requireNonNull(http, "http");
    if (readyExpiryMargin.isNegative()) {
      throw new IllegalArgumentException("readyExpiryMargin: " + readyExpiryMargin + " (expected: >= 0)");
    }
  }

  /** With the default HTTP limits. */
  public AdminOptions(Optional<InetSocketAddress> address, Duration readyExpiryMargin) {
    this(address, readyExpiryMargin, defaultHttpLimits());
  }

  /** The admin endpoint's HTTP limits unless flags say otherwise. */
  public static HttpLimits defaultHttpLimits() {
    return HttpLimits.defaults(AdminServer.HANDLER_THREADS);
  }

  public static AdminOptions disabled() {
    return new AdminOptions(Optional.empty(), DEFAULT_READY_EXPIRY_MARGIN);
  }
}
