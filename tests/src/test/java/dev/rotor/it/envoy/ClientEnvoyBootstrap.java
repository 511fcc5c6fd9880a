package dev.rotor.it.envoy;

import dev.rotor.testkit.spire.Workload.SvidFiles;
import dev.rotor.testkit.TemplateFile;
import java.util.ArrayList;
import java.util.List;

/**
 * A client-side Envoy written by hand, not by Rotor: for each route, a plain-text listener on
 * 127.0.0.1 proxied (TCP) to a mutual-TLS cluster that presents a workload's SVID from files and
 * checks the server's SPIFFE ID. Envoy's default upstream TLS settings are kept, so it caches its
 * session and offers it on the next connection, as any Envoy client does unless told not to.
 */
final class ClientEnvoyBootstrap {
  /** One route: a local port, and the upstream it reaches as {@code client}. */
  record Route(String name, int localPort, SvidFiles client, int upstreamPort, String upstreamSpiffeId) {}

  /** A mutual-TLS echo server with Envoy's default TLS settings, which resume sessions. */
  record ResumingServer(String name, int port, SvidFiles server) {}

  private final List<Route> routes = new ArrayList<>();
  private final List<ResumingServer> servers = new ArrayList<>();

  ClientEnvoyBootstrap add(Route route) {
    routes.add(route);
    return this;
  }

  /**
   * Adds a server that lets clients resume: the control that shows the clients of a test do
   * resume their sessions wherever a server allows it.
   */
  ClientEnvoyBootstrap add(ResumingServer server) {
    servers.add(server);
    return this;
  }

  TemplateFile render() {
    StringBuilder listeners = new StringBuilder();
    StringBuilder clusters = new StringBuilder();
    for (ResumingServer r : servers) {
      listeners.append("""
            - name: %1$s
              address: { socket_address: { address: 127.0.0.1, port_value: %2$d } }
              filter_chains:
                - transport_socket:
                    name: envoy.transport_sockets.tls
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                      require_client_certificate: true
                      common_tls_context:
                        tls_certificates:
                          - certificate_chain: { filename: %3$s }
                            private_key: { filename: %4$s }
                        validation_context: { trusted_ca: { filename: %5$s } }
                  filters:
                    - name: envoy.filters.network.echo
                      typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo }
          """.formatted(r.name(), r.port(), r.server().chain(), r.server().key(), r.server().bundle()));
    }
    for (Route r : routes) {
      listeners.append("""
            - name: %1$s
              address: { socket_address: { address: 127.0.0.1, port_value: %2$d } }
              filter_chains:
                - filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: %1$s
                        cluster: %1$s
          """.formatted(r.name(), r.localPort()));
      clusters.append("""
            - name: %1$s
              type: STATIC
              connect_timeout: 5s
              load_assignment:
                cluster_name: %1$s
                endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %2$d } } } } ] } ]
              transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                  common_tls_context:
                    tls_certificates:
                      - certificate_chain: { filename: %3$s }
                        private_key: { filename: %4$s }
                    validation_context:
                      trusted_ca: { filename: %5$s }
                      match_typed_subject_alt_names: [ { san_type: URI, matcher: { exact: "%6$s" } } ]
          """.formatted(r.name(), r.upstreamPort(), r.client().chain(), r.client().key(), r.client().bundle(),
          r.upstreamSpiffeId()));
    }
    return TemplateFile.of("client-envoy.yaml", """
        node: { id: client, cluster: client }
        admin:
          address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
        static_resources:
          listeners:
        %s  clusters:
        %s""".formatted(listeners, clusters));
  }
}
