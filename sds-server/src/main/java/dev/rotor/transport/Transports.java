package dev.rotor.transport;

import io.grpc.Server;
import java.util.concurrent.TimeUnit;

/** What both transports do alike. */
final class Transports {

  private Transports() {}

  /**
   * Stops accepting calls, lets in-flight calls finish for up to {@code graceSeconds}, then
   * cancels the rest and waits up to {@code graceSeconds} more. Long-lived xDS streams end at the
   * cancel; Envoy reconnects to whichever server comes next.
   */
  static void shutdown(Server server, long graceSeconds) {
    server.shutdown();
    try {
      if (!server.awaitTermination(graceSeconds, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(graceSeconds, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
