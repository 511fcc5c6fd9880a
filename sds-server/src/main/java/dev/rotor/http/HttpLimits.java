package dev.rotor.http;

import java.time.Duration;

/**
 * What one client may cost a {@link BoundedHttpServer}.
 *
 * @param requestTimeout from accepting a connection to its complete request head; a client that
 *     sends nothing, or a byte a second, is closed after this (slowloris)
 * @param responseTimeout from the complete request to the last byte of the response written; a
 *     client that does not read is closed after this
 * @param maxConnections open at once; at the limit, the oldest connection that has not sent its
 *     request yet makes room for the new one, so stalled connections cannot lock probes out
 * @param handlerThreads threads that compute responses; reading and writing never block them
 */
public record HttpLimits(Duration requestTimeout, Duration responseTimeout, int maxConnections, int handlerThreads) {

  /** Kubelet probes and Prometheus send their request in one packet at once; 5 s is generous. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration DEFAULT_RESPONSE_TIMEOUT = Duration.ofSeconds(10);
  public static final int DEFAULT_MAX_CONNECTIONS = 64;
  /** The largest request head read (request line and headers); more is refused with 431. */
  public static final int MAX_REQUEST_HEAD_BYTES = 8 * 1024;

  public HttpLimits {
    positive(requestTimeout, "requestTimeout");
    positive(responseTimeout, "responseTimeout");
    if (maxConnections < 1 || maxConnections > 100_000) {
      throw new IllegalArgumentException("maxConnections: " + maxConnections + " (expected: 1..100000)");
    }
    if (handlerThreads < 1 || handlerThreads > 64) {
      throw new IllegalArgumentException("handlerThreads: " + handlerThreads + " (expected: 1..64)");
    }
  }

  /** The defaults, with {@code handlerThreads} threads. */
  public static HttpLimits defaults(int handlerThreads) {
    return new HttpLimits(DEFAULT_REQUEST_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, handlerThreads);
  }

  private static void positive(Duration d, String name) {
    if (d == null || d.isNegative() || d.isZero() || d.compareTo(Duration.ofMinutes(10)) > 0) {
      throw new IllegalArgumentException(name + ": " + d + " (expected: > 0 and at most 10m)");
    }
  }
}
