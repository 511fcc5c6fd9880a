package dev.rotor.xds.envoy;

import com.google.common.net.InetAddresses;
import com.google.protobuf.Duration;
import dev.rotor.policy.Upstream;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;

/** The clusters of a workload: {@code local_app} and one mTLS cluster per upstream. */
final class Clusters {
  private Clusters() {}

  /** The application behind the sidecar, on 127.0.0.1:appPort, in plain text. */
  static Cluster localApp(int appPort, Duration connectTimeout) {
    return Cluster.newBuilder()
        .setName(EnvoyNames.LOCAL_APP)
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(connectTimeout)
        .setLoadAssignment(endpoint(EnvoyNames.LOCAL_APP, EnvoyNames.LOOPBACK, appPort))
        .build();
  }

  /**
   * {@code outbound_<name>} to host:port over mTLS. A host name is resolved with STRICT_DNS: every
   * address DNS returns becomes an endpoint and hosts that disappear from DNS are drained, which
   * suits both a ClusterIP Service (one address) and a headless Service (one per pod, so load is
   * spread across pods); LOGICAL_DNS would only ever connect to the first address, which is meant
   * for large internet services behind round-robin DNS. An IP literal needs no DNS: STATIC.
   */
  static Cluster outbound(Upstream u, Duration connectTimeout, SdsSecretConfigs sds, boolean federated) {
    String name = EnvoyNames.outbound(u.name());
    boolean ip = InetAddresses.isInetAddress(u.host());
    return Cluster.newBuilder()
        .setName(name)
        .setType(ip ? Cluster.DiscoveryType.STATIC : Cluster.DiscoveryType.STRICT_DNS)
        .setConnectTimeout(connectTimeout)
        .setLoadAssignment(endpoint(name, u.host(), u.port()))
        .setTransportSocket(TlsContexts.upstream(sds, federated, u.host(), u.spiffeIds()))
        .build();
  }

  private static ClusterLoadAssignment endpoint(String cluster, String host, int port) {
    return ClusterLoadAssignment.newBuilder()
        .setClusterName(cluster)
        .addEndpoints(LocalityLbEndpoints.newBuilder()
            .addLbEndpoints(LbEndpoint.newBuilder()
                .setEndpoint(Endpoint.newBuilder().setAddress(Listeners.socketAddress(host, port)))))
        .build();
  }
}
