package dev.rotor.source.workload;

import static java.util.Objects.requireNonNull;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload.JWTBundlesRequest;
import io.spiffe.workloadapi.grpc.Workload.JWTBundlesResponse;
import io.spiffe.workloadapi.grpc.Workload.JWTSVIDRequest;
import io.spiffe.workloadapi.grpc.Workload.JWTSVIDResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The JWT half of the Workload API, for the file writer: {@code FetchJWTSVID} (one call per
 * audience set) and {@code FetchJWTBundles} (a stream). Callbacks arrive on gRPC's threads; the
 * caller moves them to its own executor. Every call carries the {@code workload.spiffe.io} header
 * the specification requires.
 */
public final class JwtWorkloadApiClient implements AutoCloseable {

  /** One JWT-SVID as the agent sent it. The token is a credential: never log it. */
  public record FetchedJwtSvid(String spiffeId, String token, String hint) {
    public FetchedJwtSvid {
      requireNonNull(spiffeId, "spiffeId");
      requireNonNull(token, "token");
      requireNonNull(hint, "hint");
    }

    @Override
    public String toString() {
      return "FetchedJwtSvid{" + spiffeId + ", hint=" + hint + "}";
    }
  }

  /** Receives the outcome of one {@link #fetchJwtSvids} call. */
  public interface SvidCallback {
    void onSvids(List<FetchedJwtSvid> svids);

    void onError(String reason);
  }

  /** Receives every {@code FetchJWTBundles} response, then at most one end of the stream. */
  public interface BundlesListener {
    /** JWKS documents by trust domain name, sorted by name. */
    void onBundles(Map<String, byte[]> jwksByTrustDomain);

    /** The stream ended or failed; open a new one to keep watching. */
    void onError(String reason);
  }

  private final String description;
  private final ManagedChannel channel;
  private final Runnable release;
  private final Channel withHeader;

  private JwtWorkloadApiClient(String description, ManagedChannel channel, Runnable release) {
    this.description = description;
    this.channel = channel;
    this.release = release;
    Metadata headers = new Metadata();
    headers.put(WorkloadApiSource.SECURITY_HEADER, "true");
    this.withHeader = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  /** A client for the agent at {@code address} (nothing connects until the first call). */
  public static JwtWorkloadApiClient connect(WorkloadApiAddress address) {
    WorkloadApiChannels.Transport t = WorkloadApiChannels.forAddress(requireNonNull(address, "address"));
    return new JwtWorkloadApiClient("workload-api " + address.uri(), t.channels().get(), t.release());
  }

  /** A client over {@code channel} (tests: in-process); closing it shuts the channel down. */
  public static JwtWorkloadApiClient forChannel(String description, ManagedChannel channel) {
    return new JwtWorkloadApiClient(description, requireNonNull(channel, "channel"), () -> {});
  }

  public String describe() {
    return description;
  }

  /** One {@code FetchJWTSVID} for {@code audiences} (the first is the main one), bounded by {@code deadline}. */
  public void fetchJwtSvids(List<String> audiences, Duration deadline, SvidCallback callback) {
    JWTSVIDRequest request = JWTSVIDRequest.newBuilder().addAllAudience(audiences).build();
    // A fresh root context: the caller's (e.g. a cancelled stream's) must not cancel this call.
    Context.ROOT.run(() -> SpiffeWorkloadAPIGrpc.newStub(withHeader)
        .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
        .fetchJWTSVID(request, new StreamObserver<>() {
          private boolean answered;

          @Override
          public void onNext(JWTSVIDResponse value) {
            answered = true;
            callback.onSvids(value.getSvidsList().stream()
                .map(s -> new FetchedJwtSvid(s.getSpiffeId(), s.getSvid(), s.getHint())).toList());
          }

          @Override
          public void onError(Throwable t) {
            callback.onError(describe(Status.fromThrowable(t), "FetchJWTSVID"));
          }

          @Override
          public void onCompleted() {
            if (!answered) {
              callback.onError("the agent answered FetchJWTSVID with nothing");
            }
          }
        }));
  }

  /** Opens a {@code FetchJWTBundles} stream. Returns a handle that cancels it. */
  public Runnable watchJwtBundles(BundlesListener listener) {
    Context.CancellableContext ctx = Context.ROOT.withCancellation();
    ctx.run(() -> SpiffeWorkloadAPIGrpc.newStub(withHeader).fetchJWTBundles(JWTBundlesRequest.getDefaultInstance(),
        new StreamObserver<>() {
          @Override
          public void onNext(JWTBundlesResponse value) {
            Map<String, byte[]> bundles = new TreeMap<>();
            value.getBundlesMap().forEach((td, jwks) -> bundles.put(td, jwks.toByteArray()));
            listener.onBundles(bundles);
          }

          @Override
          public void onError(Throwable t) {
            listener.onError(describe(Status.fromThrowable(t), "FetchJWTBundles"));
          }

          @Override
          public void onCompleted() {
            listener.onError("the agent ended the FetchJWTBundles stream");
          }
        }));
    return () -> ctx.cancel(null);
  }

  private static String describe(Status status, String call) {
    String detail = status.getDescription() == null ? "" : " (" + status.getDescription() + ")";
    switch (status.getCode()) {
      case PERMISSION_DENIED:
        return "the agent has no identity for this workload yet: " + call + " PERMISSION_DENIED" + detail;
      case UNAVAILABLE:
        return "the agent is unreachable: " + call + " UNAVAILABLE" + detail;
      default:
        return call + " failed: " + status.getCode() + detail;
    }
  }

  @Override
  public void close() {
    channel.shutdownNow();
    release.run();
  }
}
