import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One Envoy-like ADS client for the sidecar memory measurement (deploy/measure/rss.sh): subscribes
 * to LDS, CDS and the secrets `default` and `ROOTCA` on one ADS stream, ACKs every response, and
 * prints one line per response (type, version, resource count; never the resources). Runs until
 * killed or for the given number of seconds.
 *
 * <p>Usage: java -cp sds-server/target/rotor.jar deploy/measure/EnvoyLikeAdsClient.java SOCKET NODE_ID SECONDS
 */
public final class EnvoyLikeAdsClient {
  private static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  private static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  private static final String SDS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: EnvoyLikeAdsClient SOCKET NODE_ID SECONDS");
      System.exit(2);
    }
    String socket = args[0];
    Node node = Node.newBuilder().setId(args[1]).setCluster(args[1]).build();
    long seconds = Long.parseLong(args[2]);
    var loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    ManagedChannel channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(loop)
        .withOption(ChannelOption.SO_KEEPALIVE, null)
        .usePlaintext()
        .build();
    CountDownLatch closed = new CountDownLatch(1);
    StreamObserver<DiscoveryRequest>[] requests = new StreamObserver[1];
    requests[0] = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
      @Override
      public void onNext(DiscoveryResponse r) {
        System.out.printf("%s %s version=%s resources=%d%n", Instant.now(), r.getTypeUrl(), r.getVersionInfo(),
            r.getResourcesCount());
        synchronized (requests) {
          requests[0].onNext(DiscoveryRequest.newBuilder()
              .setTypeUrl(r.getTypeUrl())
              .setVersionInfo(r.getVersionInfo())
              .setResponseNonce(r.getNonce())
              .addAllResourceNames(r.getTypeUrl().equals(SDS) ? List.of("default", "ROOTCA") : List.of())
              .build());
        }
      }

      @Override
      public void onError(Throwable t) {
        System.out.println("stream failed: " + t);
        closed.countDown();
      }

      @Override
      public void onCompleted() {
        System.out.println("stream closed by Rotor");
        closed.countDown();
      }
    });
    synchronized (requests) {
      requests[0].onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
      requests[0].onNext(DiscoveryRequest.newBuilder().setTypeUrl(LDS).build());
      requests[0].onNext(DiscoveryRequest.newBuilder().setTypeUrl(SDS).addResourceNames("default")
          .addResourceNames("ROOTCA").build());
    }
    closed.await(seconds, TimeUnit.SECONDS);
    channel.shutdownNow();
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
