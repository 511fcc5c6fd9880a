package dev.rotor.xds.envoy;

/**
 * Names Rotor gives Envoy resources and filters. Resource names are what LDS/CDS clients see and
 * what logs and {@code explain} refer to, so they are derived from the policy in one place.
 */
final class EnvoyNames {
  private EnvoyNames() {}

  /** The cluster of the application behind the sidecar. */
  static final String LOCAL_APP = "local_app";
  static final String LOOPBACK = "127.0.0.1";
  static final String ANY_ADDRESS = "0.0.0.0";

  // Extension names. Envoy picks the factory by the typed_config's type URL; the names identify
  // the filter. They are unique within a chain (two RBAC filters get different names): gRPC's
  // xDS client requires that, and it keeps stats and per-route config unambiguous.
  static final String HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager";
  static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";
  static final String NETWORK_RBAC = "envoy.filters.network.rbac";
  static final String HTTP_RBAC = "envoy.filters.http.rbac";
  static final String ROUTER = "envoy.filters.http.router";
  static final String TLS = "envoy.transport_sockets.tls";
  static final String MTLS_AUTHENTICATED = "envoy.rbac.principals.mtls_authenticated";

  static String inbound(int port) {
    return "inbound_" + port;
  }

  static String outbound(String upstreamName) {
    return "outbound_" + upstreamName;
  }

  /** {@code rules[<index>]}: the RBAC policy of a rule, named as the policy file and explain name it. */
  static String rulePolicy(int index) {
    return "rules[" + index + "]";
  }
}
