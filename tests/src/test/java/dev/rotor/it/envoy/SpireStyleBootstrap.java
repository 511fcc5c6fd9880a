package dev.rotor.it.envoy;

import dev.rotor.testkit.TemplateFile;
import java.nio.file.Path;

/**
 * Envoy bootstraps written as SPIRE's documentation writes them for its agent's SDS: static
 * listeners and clusters, a cluster named {@code spire_agent} for the agent's socket, the SVID
 * named by its SPIFFE ID and the bundle by {@code spiffe://<trust-domain>}, the peer's SPIFFE ID
 * checked in the static half of a combined validation context. Only the socket path (Rotor's) and
 * the ports differ from such a file.
 */
final class SpireStyleBootstrap {
  private SpireStyleBootstrap() {}

  /** The config source SPIRE's examples give every secret: gRPC to the {@code spire_agent} cluster. */
  private static final String SDS_CONFIG = "sds_config: { resource_api_version: V3, api_config_source: { api_type: GRPC,"
      + " transport_api_version: V3, grpc_services: { envoy_grpc: { cluster_name: spire_agent } } } }";

  /** The agent's socket as SPIRE's examples declare it (HTTP/2 to a pipe); here Rotor's socket. */
  private static String agentCluster(Path socket) {
    return "    - name: spire_agent\n"
        + "      connect_timeout: 0.25s\n"
        + "      http2_protocol_options: {}\n"
        + "      load_assignment: { cluster_name: spire_agent, endpoints: [ { lb_endpoints: [ { endpoint: { address: { pipe: { path: "
        + socket + " } } } } ] } ] }";
  }

  /** A backend: mutual TLS on {@code port} (peer must be {@code peerId}), proxied to the app. */
  static TemplateFile server(Path socket, int port, String svidName, String peerId, int appPort) {
    return TemplateFile.of("sds-only server", """
        node: { id: sds-only-server, cluster: sds-only }
        admin:
          address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
        static_resources:
          listeners:
            - name: local_service_tls
              address: { socket_address: { address: 127.0.0.1, port_value: %2$d } }
              filter_chains:
                - filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: local_service
                        cluster: local_service
                  transport_socket:
                    name: envoy.transport_sockets.tls
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                      require_client_certificate: true
                      common_tls_context:
                        tls_certificate_sds_secret_configs:
                          - name: "%3$s"
                            %6$s
                        combined_validation_context:
                          default_validation_context:
                            match_typed_subject_alt_names:
                              - san_type: URI
                                matcher: { exact: "%4$s" }
                          validation_context_sds_secret_config:
                            name: "spiffe://example.org"
                            %6$s
          clusters:
        %1$s
            - name: local_service
              connect_timeout: 1s
              type: STATIC
              load_assignment:
                cluster_name: local_service
                endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %5$d } } } } ] } ]
        """.formatted(agentCluster(socket), port, svidName, peerId, appPort, SDS_CONFIG));
  }

  /** A frontend: plain text on {@code localPort}, mutual TLS to the upstream (must be {@code upstreamId}). */
  static TemplateFile client(Path socket, int localPort, String svidName, String upstreamId, int upstreamPort) {
    return TemplateFile.of("sds-only client", """
        node: { id: sds-only-client, cluster: sds-only }
        admin:
          address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
        static_resources:
          listeners:
            - name: outbound
              address: { socket_address: { address: 127.0.0.1, port_value: %2$d } }
              filter_chains:
                - filters:
                    - name: envoy.filters.network.tcp_proxy
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                        stat_prefix: outbound
                        cluster: backend
          clusters:
        %1$s
            - name: backend
              connect_timeout: 1s
              type: STATIC
              load_assignment:
                cluster_name: backend
                endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %5$d } } } } ] } ]
              transport_socket:
                name: envoy.transport_sockets.tls
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                  common_tls_context:
                    tls_certificate_sds_secret_configs:
                      - name: "%3$s"
                        %6$s
                    combined_validation_context:
                      default_validation_context:
                        match_typed_subject_alt_names:
                          - san_type: URI
                            matcher: { exact: "%4$s" }
                      validation_context_sds_secret_config:
                        name: "spiffe://example.org"
                        %6$s
        """.formatted(agentCluster(socket), localPort, svidName, upstreamId, upstreamPort,
        SDS_CONFIG));
  }
}
