package dev.rotor.bench.load;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One Workload API {@code FetchX509SVID} stream on a SPIRE agent, stamping with the wall clock the
 * arrival of every X.509-SVID update and its leaf serial: the moment the agent's new SVID became
 * available to its subscribers, which the harness uses as the trigger of SPIRE-fed rotations.
 */
public final class WorkloadProbe implements AutoCloseable {
  private static final Metadata.Key<String> WORKLOAD_HEADER =
      Metadata.Key.of("workload.spiffe.io", Metadata.ASCII_STRING_MARSHALLER);

  /** An SVID update: wall-clock nanos and the first SVID's leaf serial (hex). */
  public record Arrival(long nanos, String serial) {}

  private final EventLoopGroup loop;
  private final ManagedChannel channel;
  private final List<Arrival> arrivals = new ArrayList<>();

  public WorkloadProbe(Path agentSocket, Consumer<String> onError) {
    this(agentSocket, onError, null);
  }

  /** With {@code loop} null the probe has its own event loop; otherwise it shares the given one. */
  public WorkloadProbe(Path agentSocket, Consumer<String> onError, EventLoopGroup sharedLoop) {
    this.loop = sharedLoop != null ? null : new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(agentSocket.toString()))
        .eventLoopGroup(sharedLoop != null ? sharedLoop : loop)
        .channelType(EpollDomainSocketChannel.class)
        .overrideAuthority("localhost")
        .directExecutor()
        .usePlaintext()
        .build();
    Metadata headers = new Metadata();
    headers.put(WORKLOAD_HEADER, "true");
    SpiffeWorkloadAPIGrpc.newStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .fetchX509SVID(Workload.X509SVIDRequest.getDefaultInstance(), new StreamObserver<>() {
          @Override
          public void onNext(Workload.X509SVIDResponse response) {
            long now = WallClock.nowNanos();
            String serial = "?";
            try {
              if (response.getSvidsCount() > 0) {
                X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
                    new ByteArrayInputStream(response.getSvids(0).getX509Svid().toByteArray()));
                serial = leaf.getSerialNumber().toString(16);
              }
            } catch (Exception e) {
              serial = "unreadable";
            }
            synchronized (arrivals) {
              arrivals.add(new Arrival(now, serial));
            }
          }

          @Override
          public void onError(Throwable t) {
            onError.accept("probe " + WallClock.nowNanos() + " " + io.grpc.Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {}
        });
  }

  public List<Arrival> arrivals() {
    synchronized (arrivals) {
      return List.copyOf(arrivals);
    }
  }

  @Override
  public void close() {
    channel.shutdownNow();
    if (loop != null) {
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }
}
