package dev.rotor.transport;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;

/** What both transports do alike. */
final class Transports {

  /** Envoy's xDS/SDS requests are small; a bigger one is a bug or an attack. */
  static final int MAX_INBOUND_MESSAGE_BYTES = 4 * 1024 * 1024;

  /**
   * Envoy's gRPC keepalive (when configured) pings every few tens of seconds, also on idle xDS
   * connections; permit pings this far apart so such clients are not sent GOAWAY
   * ENHANCE_YOUR_CALM.
   */
  static final long PERMIT_KEEPALIVE_SECONDS = 10;

  /** How long in-flight calls may take to finish at shutdown, and again after cancelling them. */
  static final long SHUTDOWN_GRACE_SECONDS = 5;

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

  /**
   * Ends a call with PERMISSION_DENIED before the service is started, so the service never sees
   * it. {@code description} goes to the caller: say what was refused, nothing internal.
   */
  static <ReqT, RespT> ServerCall.Listener<ReqT> deny(ServerCall<ReqT, RespT> call, String description) {
    call.close(Status.PERMISSION_DENIED.withDescription(description), new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
