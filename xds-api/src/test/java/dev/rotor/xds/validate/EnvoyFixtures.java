package dev.rotor.xds.validate;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.rbac.principals.mtls_authenticated.v3.Config;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;

/**
 * Hand-built Envoy messages that satisfy every constraint, so each negative fixture is one of
 * these with exactly one defect.
 */
final class EnvoyFixtures {
  private EnvoyFixtures() {}

  static Address address(int port) {
    return Address.newBuilder()
        .setSocketAddress(SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(port))
        .build();
  }

  static Principal spiffePrincipal(String id) {
    Config mtls = Config.newBuilder()
        .setSanMatcher(SubjectAltNameMatcher.newBuilder()
            .setSanType(SubjectAltNameMatcher.SanType.URI)
            .setMatcher(StringMatcher.newBuilder().setExact(id)))
        .build();
    return Principal.newBuilder()
        .setCustom(TypedExtensionConfig.newBuilder()
            .setName("envoy.rbac.principals.mtls_authenticated")
            .setTypedConfig(Any.pack(mtls)))
        .build();
  }

  static Permission methodGet() {
    return Permission.newBuilder()
        .setHeader(HeaderMatcher.newBuilder()
            .setName(":method")
            .setStringMatch(StringMatcher.newBuilder().setExact("GET")))
        .build();
  }

  static io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC httpRbac(Principal principal, Permission permission) {
    return io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder()
        .setRules(RBAC.newBuilder()
            .setAction(RBAC.Action.ALLOW)
            .putPolicies("rules[0]", Policy.newBuilder().addPrincipals(principal).addPermissions(permission).build()))
        .build();
  }

  static HttpConnectionManager hcm(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC rbac) {
    return HttpConnectionManager.newBuilder()
        .setStatPrefix("inbound_8080")
        .setRouteConfig(RouteConfiguration.newBuilder()
            .setName("inbound_8080")
            .addVirtualHosts(VirtualHost.newBuilder()
                .setName("local_app")
                .addDomains("*")
                .addRoutes(Route.newBuilder()
                    .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                    .setRoute(RouteAction.newBuilder().setCluster("local_app")))))
        .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(rbac)))
        .addHttpFilters(HttpFilter.newBuilder()
            .setName("envoy.filters.http.router")
            .setTypedConfig(Any.pack(Router.getDefaultInstance())))
        .build();
  }

  static HttpConnectionManager validHcm() {
    return hcm(httpRbac(spiffePrincipal("spiffe://example.org/ns/demo/sa/frontend"), methodGet()));
  }

  static Listener listener(HttpConnectionManager hcm) {
    DownstreamTlsContext tls = DownstreamTlsContext.newBuilder()
        .setCommonTlsContext(CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig.newBuilder().setName("default")))
        .setRequireClientCertificate(com.google.protobuf.BoolValue.of(true))
        .build();
    return Listener.newBuilder()
        .setName("inbound_8080")
        .setAddress(address(8080))
        .addFilterChains(FilterChain.newBuilder()
            .addFilters(Filter.newBuilder()
                .setName("envoy.filters.network.http_connection_manager")
                .setTypedConfig(Any.pack(hcm)))
            .setTransportSocket(TransportSocket.newBuilder()
                .setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(tls))))
        .build();
  }

  static Listener validListener() {
    return listener(validHcm());
  }

  static Cluster validCluster() {
    return Cluster.newBuilder()
        .setName("local_app")
        .setType(Cluster.DiscoveryType.STATIC)
        .setConnectTimeout(Duration.newBuilder().setSeconds(5))
        .build();
  }

  static Secret spiffeValidationSecret(SPIFFECertValidatorConfig spiffe) {
    return Secret.newBuilder()
        .setName("ROOTCA")
        .setValidationContext(CertificateValidationContext.newBuilder()
            .setCustomValidatorConfig(TypedExtensionConfig.newBuilder()
                .setName("envoy.tls.cert_validator.spiffe")
                .setTypedConfig(Any.pack(spiffe))))
        .build();
  }

  static Secret validSecret() {
    return spiffeValidationSecret(SPIFFECertValidatorConfig.newBuilder()
        .addTrustDomains(SPIFFECertValidatorConfig.TrustDomain.newBuilder()
            .setName("example.org")
            .setTrustBundle(DataSource.newBuilder().setInlineBytes(ByteString.copyFromUtf8("-----BEGIN CERTIFICATE-----"))))
        .build());
  }
}
