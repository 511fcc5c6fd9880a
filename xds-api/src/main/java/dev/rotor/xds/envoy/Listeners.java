package dev.rotor.xds.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.Message;
import dev.rotor.policy.Action;
import dev.rotor.policy.Inbound;
import dev.rotor.policy.Protocol;
import dev.rotor.policy.Upstream;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.time.Duration;
import java.util.List;

/** The listeners of a workload: one inbound (mTLS, RBAC) and one plain-text outbound per upstream. */
final class Listeners {
  private Listeners() {}

  /**
   * How much longer an outbound (client-side) connection may live than the server side's bound: the
   * server closes gracefully at {@code maxConnectionDuration} (after the response in flight, or with
   * an HTTP/2 GOAWAY and Envoy's 5 s drain), so the client's hard close only acts when a server
   * Rotor does not configure never closed it.
   */
  static final Duration OUTBOUND_BACKSTOP = Duration.ofSeconds(15);

  /**
   * {@code inbound_<port>} on 0.0.0.0:port: mTLS with a required client certificate, then
   * RBAC DENY (only if there are deny rules), RBAC ALLOW, and the route or proxy to {@code
   * local_app}.
   *
   * <p>No connection lives longer than {@code maxConnectionDuration}: Envoy keeps a TLS
   * connection open after the certificates it was made with expire (envoy#28386), so a long-lived
   * HTTP/2 or TCP connection would outlive an expired or revoked SVID by hours. HTTP listeners
   * close gracefully ({@code common_http_protocol_options.max_connection_duration}: {@code
   * Connection: close} on the next response, or GOAWAY and drain); TCP listeners can only close
   * ({@code max_downstream_connection_duration}), so clients of a tcp rule must reconnect.
   */
  static Listener inbound(
      Inbound in, SdsSecretConfigs sds, boolean federated, Duration maxConnectionDuration, String where) {
    String name = EnvoyNames.inbound(in.port());
    RBAC deny = RbacTranslator.rbac(Action.DENY, in.rules(), in.protocol(), where);
    RBAC allow = RbacTranslator.rbac(Action.ALLOW, in.rules(), in.protocol(), where);
    if (allow == null) {
      // Without an ALLOW filter every authenticated peer would get in: refuse instead.
      throw new UntranslatablePolicyException(where + ": no allow rule (expected: at least one)");
    }
    FilterChain.Builder chain = FilterChain.newBuilder();
    if (in.protocol() == Protocol.HTTP) {
      chain.addFilters(filter(EnvoyNames.HTTP_CONNECTION_MANAGER,
          httpConnectionManager(name, deny, allow, maxConnectionDuration)));
      chain.setTransportSocket(TlsContexts.downstream(sds, federated, TlsContexts.HTTP_ALPN));
    } else {
      // Network RBAC decides on the first bytes from the client. A server-first protocol (the
      // upstream speaks before the client) would send its greeting to any peer that passed the TLS
      // handshake before RBAC runs: use tcp rules with client-first protocols.
      if (deny != null) {
        chain.addFilters(filter(EnvoyNames.NETWORK_RBAC + ".deny", networkRbac(deny, name + "_deny.")));
      }
      chain.addFilters(filter(EnvoyNames.NETWORK_RBAC + ".allow", networkRbac(allow, name + "_allow.")));
      chain.addFilters(filter(EnvoyNames.TCP_PROXY, tcpProxy(name, EnvoyNames.LOCAL_APP, maxConnectionDuration)));
      chain.setTransportSocket(TlsContexts.downstream(sds, federated, List.of()));
    }
    return Listener.newBuilder()
        .setName(name)
        .setAddress(socketAddress(EnvoyNames.ANY_ADDRESS, in.port()))
        .addFilterChains(chain)
        .build();
  }

  /**
   * {@code outbound_<name>} on 127.0.0.1:localPort: plain text from the app, proxied to the mTLS
   * cluster, one upstream connection per connection of the app; closed at the latest {@link
   * #OUTBOUND_BACKSTOP} after {@code maxConnectionDuration}, so the upstream TLS connection (and
   * the client certificate it presented) never outlives it by more.
   */
  static Listener outbound(Upstream u, Duration maxConnectionDuration) {
    String name = EnvoyNames.outbound(u.name());
    TcpProxy proxy = tcpProxy(name, name, maxConnectionDuration.plus(OUTBOUND_BACKSTOP));
    return Listener.newBuilder()
        .setName(name)
        .setAddress(socketAddress(EnvoyNames.LOOPBACK, u.localPort()))
        .addFilterChains(FilterChain.newBuilder().addFilters(filter(EnvoyNames.TCP_PROXY, proxy)))
        .build();
  }

  /**
   * The HTTP connection manager of an inbound listener. The route config is inline (no RDS): it
   * is one catch-all route to {@code local_app} that changes only with the listener itself.
   *
   * <p>{@code x-forwarded-client-cert} is sanitized and then set by Envoy with the caller's URI
   * SAN, so the application can trust it to name the caller's SPIFFE ID. Paths are normalized
   * (RFC 3986, merged slashes) and requests with escaped slashes rejected, so a path rule cannot
   * be bypassed by spelling a path differently from how the application will read it.
   */
  private static HttpConnectionManager httpConnectionManager(
      String name, RBAC deny, RBAC allow, Duration maxConnectionDuration) {
    HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder()
        .setStatPrefix(name)
        .setCodecType(HttpConnectionManager.CodecType.AUTO)
        .setRouteConfig(RouteConfiguration.newBuilder()
            .setName(name)
            .addVirtualHosts(VirtualHost.newBuilder()
                .setName(EnvoyNames.LOCAL_APP)
                .addDomains("*")
                .addRoutes(Route.newBuilder()
                    .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                    .setRoute(RouteAction.newBuilder().setCluster(EnvoyNames.LOCAL_APP)))))
        .setForwardClientCertDetails(HttpConnectionManager.ForwardClientCertDetails.SANITIZE_SET)
        .setSetCurrentClientCertDetails(HttpConnectionManager.SetCurrentClientCertDetails.newBuilder().setUri(true))
        .setNormalizePath(BoolValue.of(true))
        .setMergeSlashes(true)
        .setPathWithEscapedSlashesAction(HttpConnectionManager.PathWithEscapedSlashesAction.REJECT_REQUEST)
        .setCommonHttpProtocolOptions(HttpProtocolOptions.newBuilder()
            .setMaxConnectionDuration(protoDuration(maxConnectionDuration)));
    if (deny != null) {
      hcm.addHttpFilters(httpFilter(EnvoyNames.HTTP_RBAC + ".deny", httpRbac(deny)));
    }
    hcm.addHttpFilters(httpFilter(EnvoyNames.HTTP_RBAC + ".allow", httpRbac(allow)));
    hcm.addHttpFilters(httpFilter(EnvoyNames.ROUTER, Router.getDefaultInstance()));
    return hcm.build();
  }

  private static io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC httpRbac(RBAC rules) {
    return io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(rules).build();
  }

  private static io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC networkRbac(RBAC rules, String statPrefix) {
    return io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder()
        .setRules(rules)
        .setStatPrefix(statPrefix)
        .build();
  }

  private static TcpProxy tcpProxy(String statPrefix, String cluster, Duration maxConnectionDuration) {
    return TcpProxy.newBuilder()
        .setStatPrefix(statPrefix)
        .setCluster(cluster)
        .setMaxDownstreamConnectionDuration(protoDuration(maxConnectionDuration))
        .build();
  }

  static com.google.protobuf.Duration protoDuration(Duration d) {
    return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
  }

  private static Filter filter(String name, Message config) {
    return Filter.newBuilder().setName(name).setTypedConfig(Any.pack(config)).build();
  }

  private static HttpFilter httpFilter(String name, Message config) {
    return HttpFilter.newBuilder().setName(name).setTypedConfig(Any.pack(config)).build();
  }

  static Address socketAddress(String host, int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
        .build();
  }
}
