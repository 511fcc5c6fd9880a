package dev.rotor.xds;

/** The xDS v3 type URLs Rotor serves. */
public final class TypeUrls {
  public static final String SECRET = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
  public static final String LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener";
  public static final String CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  public static final String ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  public static final String ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  /**
   * The order in which one push sends types on ADS: secrets first (a listener or cluster must never
   * wait for a secret it references, rule 23), then make-before-break CDS, EDS, LDS, RDS (rule 22).
   */
  public static final java.util.List<String> PUSH_ORDER = java.util.List.of(SECRET, CLUSTER, ENDPOINT, LISTENER, ROUTE);

  /** Orders type URLs by {@link #PUSH_ORDER}; unknown types last, by name. */
  public static final java.util.Comparator<String> BY_PUSH_ORDER = java.util.Comparator
      .<String>comparingInt(t -> PUSH_ORDER.indexOf(t) < 0 ? Integer.MAX_VALUE : PUSH_ORDER.indexOf(t))
      .thenComparing(java.util.Comparator.naturalOrder());

  private TypeUrls() {}

  /** A short name for logs and metrics: {@code sds}, {@code lds}, ... or the URL itself. */
  public static String shortName(String typeUrl) {
    switch (typeUrl) {
      case SECRET:
        return "sds";
      case LISTENER:
        return "lds";
      case CLUSTER:
        return "cds";
      case ROUTE:
        return "rds";
      case ENDPOINT:
        return "eds";
      default:
        return typeUrl;
    }
  }
}
