package dev.rotor.source.workload;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDRequest;
import io.spiffe.workloadapi.grpc.Workload.X509SVIDResponse;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake SPIFFE Workload API (the X.509 part of a SPIRE agent) for tests. Like SPIRE it rejects
 * calls without the {@code workload.spiffe.io: true} header, sends the current SVIDs as soon as a
 * stream opens and pushes every update to every open stream. The test pushes responses, fails or
 * ends open streams, makes the next connections fail, and counts connections.
 *
 * <p>Serve {@link #service()}, not {@code bindService()}: only the former checks the header.
 */
final class FakeWorkloadApi extends SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase {

  /** SPIRE's answer to a call without the security header. */
  static final Status MISSING_HEADER = Status.INVALID_ARGUMENT.withDescription("security header missing from request");

  /** SPIRE's answer when no registration entry matches the caller. */
  static final Status NO_IDENTITY = Status.PERMISSION_DENIED.withDescription("no identity issued");

  private final Object lock = new Object();
  // Guarded by lock. Never held while calling into gRPC, so it cannot deadlock with gRPC's locks.
  private final List<ServerCallStreamObserver<X509SVIDResponse>> open = new ArrayList<>();
  private final Deque<Status> refusals = new ArrayDeque<>();
  private Status refuseAllWith;
  private X509SVIDResponse current;

  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger rejectedWithoutHeader = new AtomicInteger();

  /** This service behind the security-header check. */
  ServerServiceDefinition service() {
    return ServerInterceptors.intercept(this, new SecurityHeaderCheck());
  }

  /** Makes {@code response} current: sent to every open stream now and to every new one. */
  void push(X509SVIDResponse response) {
    List<ServerCallStreamObserver<X509SVIDResponse>> targets;
    synchronized (lock) {
      current = response;
      targets = new ArrayList<>(open);
    }
    targets.forEach(stream -> send(stream, response));
  }

  /** Sends {@code response} to open streams without making it current (e.g. a malformed one). */
  void pushOnce(X509SVIDResponse response) {
    List<ServerCallStreamObserver<X509SVIDResponse>> targets;
    synchronized (lock) {
      targets = new ArrayList<>(open);
    }
    targets.forEach(stream -> send(stream, response));
  }

  /** Ends every open stream with {@code status} (OK completes it normally). */
  void closeStreams(Status status) {
    List<ServerCallStreamObserver<X509SVIDResponse>> targets;
    synchronized (lock) {
      targets = new ArrayList<>(open);
      open.clear();
    }
    for (ServerCallStreamObserver<X509SVIDResponse> stream : targets) {
      synchronized (stream) {
        try {
          if (status.isOk()) {
            stream.onCompleted();
          } else {
            stream.onError(status.asRuntimeException());
          }
        } catch (RuntimeException alreadyCancelled) {
          // the client went away first
        }
      }
    }
  }

  /** The next connection (after the header check) fails at once with {@code status}. */
  void refuseNextConnection(Status status) {
    synchronized (lock) {
      refusals.add(status);
    }
  }

  /** Every connection fails at once with {@code status} until {@link #acceptConnections()}. */
  void refuseAllConnections(Status status) {
    synchronized (lock) {
      refuseAllWith = status;
    }
  }

  void acceptConnections() {
    synchronized (lock) {
      refuseAllWith = null;
      refusals.clear();
    }
  }

  /** FetchX509SVID calls that passed the header check, refused ones included. */
  int connections() {
    return connections.get();
  }

  int openStreams() {
    synchronized (lock) {
      return open.size();
    }
  }

  int rejectedWithoutHeader() {
    return rejectedWithoutHeader.get();
  }

  @Override
  public void fetchX509SVID(X509SVIDRequest request, StreamObserver<X509SVIDResponse> observer) {
    ServerCallStreamObserver<X509SVIDResponse> stream = (ServerCallStreamObserver<X509SVIDResponse>) observer;
    connections.incrementAndGet();
    Status refusal;
    X509SVIDResponse first;
    synchronized (lock) {
      refusal = refuseAllWith != null ? refuseAllWith : refusals.poll();
      if (refusal == null) {
        stream.setOnCancelHandler(() -> {
          synchronized (lock) {
            open.remove(stream);
          }
        });
        open.add(stream);
      }
      first = current;
    }
    if (refusal != null) {
      stream.onError(refusal.asRuntimeException());
    } else if (first != null) {
      send(stream, first);
    }
  }

  private static void send(ServerCallStreamObserver<X509SVIDResponse> stream, X509SVIDResponse response) {
    synchronized (stream) { // a server StreamObserver must not be called concurrently
      if (stream.isCancelled()) {
        return;
      }
      try {
        stream.onNext(response);
      } catch (RuntimeException alreadyClosed) {
        // closed by closeStreams() or cancelled meanwhile
      }
    }
  }

  /** Rejects calls without {@code workload.spiffe.io: true}, as SPIRE's agent does. */
  private final class SecurityHeaderCheck implements ServerInterceptor {
    private final Metadata.Key<String> key = Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
        ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
      if (!"true".equals(headers.get(key))) {
        rejectedWithoutHeader.incrementAndGet();
        call.close(MISSING_HEADER, new Metadata());
        return new ServerCall.Listener<>() {};
      }
      return next.startCall(call, headers);
    }
  }
}
