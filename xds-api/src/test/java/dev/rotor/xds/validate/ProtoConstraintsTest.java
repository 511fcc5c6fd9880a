package dev.rotor.xds.validate;

import static dev.rotor.xds.validate.EnvoyFixtures.address;
import static dev.rotor.xds.validate.EnvoyFixtures.hcm;
import static dev.rotor.xds.validate.EnvoyFixtures.httpRbac;
import static dev.rotor.xds.validate.EnvoyFixtures.listener;
import static dev.rotor.xds.validate.EnvoyFixtures.methodGet;
import static dev.rotor.xds.validate.EnvoyFixtures.spiffePrincipal;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Duration;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.rbac.principals.mtls_authenticated.v3.Config;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Envoy's own messages: positive fixtures pass, and each negative fixture (named by its defect)
 * is rejected with the rule and path Envoy's PGV validation would report.
 */
class ProtoConstraintsTest {

  private static final String HCM_PATH = "filter_chains[0].filters[0].typed_config"
      + "(envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager)";
  private static final String RBAC_POLICY_PATH = HCM_PATH + ".http_filters[0].typed_config"
      + "(envoy.extensions.filters.http.rbac.v3.RBAC).rules.policies[\"rules[0]\"]";

  // --- positive fixtures ---

  @Test
  void validListener_hasNoViolations() {
    assertThat(ProtoConstraints.validate(EnvoyFixtures.validListener())).isEmpty();
  }

  @Test
  void validCluster_hasNoViolations() {
    assertThat(ProtoConstraints.validate(EnvoyFixtures.validCluster())).isEmpty();
  }

  @Test
  void validSpiffeValidationSecret_hasNoViolations() {
    assertThat(ProtoConstraints.validate(EnvoyFixtures.validSecret())).isEmpty();
  }

  @Test
  void anyAtTopLevel_isUnpackedAndValidated() {
    assertThat(ProtoConstraints.validate(Any.pack(EnvoyFixtures.validListener()))).isEmpty();
    assertThat(ProtoConstraints.validate(Any.pack(Cluster.getDefaultInstance())))
        .extracting(Violation::fieldPath)
        .contains("(envoy.config.cluster.v3.Cluster).name");
  }

  @Test
  void registry_knowsEveryTypeRotorPacks() {
    for (String type : List.of(
        "envoy.config.listener.v3.Listener",
        "envoy.config.cluster.v3.Cluster",
        "envoy.config.route.v3.RouteConfiguration",
        "envoy.extensions.transport_sockets.tls.v3.Secret",
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "envoy.extensions.filters.http.router.v3.Router",
        "envoy.extensions.filters.http.rbac.v3.RBAC",
        "envoy.extensions.filters.network.rbac.v3.RBAC",
        "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig",
        "envoy.extensions.rbac.principals.mtls_authenticated.v3.Config",
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions")) {
      assertThat(ProtoConstraints.ENVOY_TYPES.find(type)).as(type).isNotNull();
    }
  }

  // --- negative fixtures, named by defect ---

  /**
   * Listener.address carries no PGV rule ("required unless api_listener or listener_specifier is
   * populated" is checked in Envoy's C++), so an absent address is not a violation here; what PGV
   * does reject is an Address that is present but empty: its {@code address} oneof is required.
   */
  @Test
  void listenerWithoutAddress_isNotAPgvViolation() {
    Listener noAddress = EnvoyFixtures.validListener().toBuilder().clearAddress().build();
    assertThat(ProtoConstraints.validate(noAddress)).isEmpty();
  }

  @Test
  void listenerWithEmptyAddress_rejected_oneofRequired() {
    Listener emptyAddress = EnvoyFixtures.validListener().toBuilder().setAddress(Address.getDefaultInstance()).build();
    assertThat(ProtoConstraints.validate(emptyAddress))
        .containsExactly(new Violation("address.address", "oneof.required",
            "none of [socket_address, pipe, envoy_internal_address] is set (expected: exactly one)"));
  }

  @Test
  void clusterWithEmptyName_rejected_minLen() {
    Cluster c = EnvoyFixtures.validCluster().toBuilder().setName("").build();
    assertThat(ProtoConstraints.validate(c))
        .containsExactly(new Violation("name", "string.min_len", "\"\" has 0 characters (expected: at least 1)"));
  }

  @Test
  void clusterWithZeroConnectTimeout_rejected_durationGt() {
    Cluster c = EnvoyFixtures.validCluster().toBuilder().setConnectTimeout(Duration.getDefaultInstance()).build();
    assertThat(ProtoConstraints.validate(c))
        .containsExactly(new Violation("connect_timeout", "duration.gt", "0s (expected: > 0s)"));
  }

  @Test
  void clusterWithUndefinedDiscoveryType_rejected_definedOnly() {
    Cluster c = EnvoyFixtures.validCluster().toBuilder().setTypeValue(42).build();
    assertThat(ProtoConstraints.validate(c)).extracting(Violation::fieldPath, Violation::rule)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("type", "enum.defined_only"));
  }

  @Test
  void clusterWithLeastRequestChoiceCountOne_rejected_wrappedUint32Gte() {
    Cluster c = EnvoyFixtures.validCluster().toBuilder()
        .setLeastRequestLbConfig(Cluster.LeastRequestLbConfig.newBuilder().setChoiceCount(UInt32Value.of(1)))
        .build();
    assertThat(ProtoConstraints.validate(c))
        .containsExactly(new Violation("least_request_lb_config.choice_count", "uint32.gte", "1 (expected: >= 2)"));
  }

  @Test
  void metadataWithEmptyFilterName_rejected_mapKeyMinLen() {
    Cluster c = EnvoyFixtures.validCluster().toBuilder()
        .setMetadata(Metadata.newBuilder().putFilterMetadata("", Struct.getDefaultInstance()))
        .build();
    assertThat(ProtoConstraints.validate(c))
        .containsExactly(new Violation("metadata.filter_metadata[\"\"].key", "string.min_len",
            "\"\" has 0 characters (expected: at least 1)"));
  }

  @Test
  void hcmWithoutStatPrefix_rejected_minLen() {
    HttpConnectionManager hcm = EnvoyFixtures.validHcm().toBuilder().clearStatPrefix().build();
    assertThat(ProtoConstraints.validate(listener(hcm)))
        .containsExactly(new Violation(HCM_PATH + ".stat_prefix", "string.min_len",
            "\"\" has 0 characters (expected: at least 1)"));
  }

  @Test
  void hcmWithoutRoutes_rejected_oneofRequired() {
    HttpConnectionManager hcm = EnvoyFixtures.validHcm().toBuilder().clearRouteConfig().build();
    assertThat(ProtoConstraints.validate(listener(hcm))).extracting(Violation::fieldPath, Violation::rule)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(HCM_PATH + ".route_specifier", "oneof.required"));
  }

  @Test
  void socketAddressWithPortAbove65535_rejected_uint32Lte() {
    Listener l = EnvoyFixtures.validListener().toBuilder()
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(65536)))
        .build();
    assertThat(ProtoConstraints.validate(l))
        .containsExactly(new Violation("address.socket_address.port_value", "uint32.lte", "65536 (expected: <= 65535)"));
  }

  @Test
  void socketAddressWithoutHost_rejected_minLen() {
    Listener l = EnvoyFixtures.validListener().toBuilder()
        .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setPortValue(8080)))
        .build();
    assertThat(ProtoConstraints.validate(l)).extracting(Violation::fieldPath, Violation::rule)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("address.socket_address.address", "string.min_len"));
  }

  @Test
  void spiffeValidatorWithZeroTrustDomains_rejected_minItems() {
    var secret = EnvoyFixtures.spiffeValidationSecret(SPIFFECertValidatorConfig.getDefaultInstance());
    assertThat(ProtoConstraints.validate(secret))
        .containsExactly(new Violation("validation_context.custom_validator_config.typed_config"
            + "(envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig).trust_domains",
            "repeated.min_items", "0 items (expected: at least 1)"));
  }

  @Test
  void anyOfUnknownType_rejected_neverSkipped() {
    assertThat(ProtoConstraints.ENVOY_TYPES.find(JwtAuthentication.getDescriptor().getFullName())).isNull();
    HttpConnectionManager hcm = EnvoyFixtures.validHcm().toBuilder()
        .setHttpFilters(0, EnvoyFixtures.validHcm().getHttpFilters(0).toBuilder()
            .setTypedConfig(Any.pack(JwtAuthentication.getDefaultInstance())))
        .build();
    assertThat(ProtoConstraints.validate(listener(hcm)))
        .extracting(Violation::fieldPath, Violation::rule)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(HCM_PATH + ".http_filters[0].typed_config", "any.known_type"));
  }

  @Test
  void anyWithMadeUpTypeUrl_rejected() {
    TypedExtensionConfig ext = TypedExtensionConfig.newBuilder()
        .setName("x")
        .setTypedConfig(Any.newBuilder().setTypeUrl("type.googleapis.com/example.NoSuchType"))
        .build();
    assertThat(ProtoConstraints.validate(ext)).extracting(Violation::rule).containsExactly("any.known_type");
  }

  @Test
  void anyWhoseBytesDoNotDecode_rejected() {
    TypedExtensionConfig ext = TypedExtensionConfig.newBuilder()
        .setName("x")
        .setTypedConfig(Any.newBuilder()
            .setTypeUrl("type.googleapis.com/" + Router.getDescriptor().getFullName())
            .setValue(ByteString.copyFrom(new byte[] {(byte) 0xFF, (byte) 0xFF})))
        .build();
    assertThat(ProtoConstraints.validate(ext)).extracting(Violation::rule).containsExactly("any.decodable");
  }

  @Test
  void typedExtensionConfigWithoutTypedConfig_rejected_anyRequired() {
    TypedExtensionConfig ext = TypedExtensionConfig.newBuilder().setName("x").build();
    assertThat(ProtoConstraints.validate(ext))
        .containsExactly(new Violation("typed_config", "any.required", "is not set (expected: a packed message)"));
  }

  @Test
  void rbacPrincipalWithNoIdentifier_rejected_oneofRequired() {
    HttpConnectionManager hcm = hcm(httpRbac(Principal.getDefaultInstance(), methodGet()));
    List<Violation> violations = ProtoConstraints.validate(listener(hcm));
    assertThat(violations).extracting(Violation::fieldPath, Violation::rule)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(RBAC_POLICY_PATH + ".principals[0].identifier", "oneof.required"));
    assertThat(violations.get(0).message()).startsWith("none of [and_ids, or_ids, any, ").endsWith("(expected: exactly one)");
  }

  @Test
  void sanMatcherWithUnspecifiedType_rejected_enumNotIn() {
    Config mtls = Config.newBuilder()
        .setSanMatcher(SubjectAltNameMatcher.newBuilder().setMatcher(StringMatcher.newBuilder().setExact("spiffe://x/y")))
        .build();
    assertThat(ProtoConstraints.validate(mtls))
        .containsExactly(new Violation("san_matcher.san_type", "enum.not_in",
            "SAN_TYPE_UNSPECIFIED (0) (expected: none of [0])"));
  }

  @Test
  void headerNameWithNewline_rejected_wellKnownRegex() {
    Permission bad = Permission.newBuilder()
        .setHeader(HeaderMatcher.newBuilder()
            .setName(":method\nx-injected")
            .setStringMatch(StringMatcher.newBuilder().setExact("GET")))
        .build();
    HttpConnectionManager hcm = hcm(httpRbac(spiffePrincipal("spiffe://example.org/a"), bad));
    assertThat(ProtoConstraints.validate(listener(hcm)))
        .containsExactly(new Violation(RBAC_POLICY_PATH + ".permissions[0].header.name", "string.well_known_regex",
            "\":method\\nx-injected\" (expected: no NUL, CR or LF)"));
  }

  @Test
  void routerWithUnknownStrictCheckHeader_rejected_repeatedItems() {
    Router router = Router.newBuilder().addStrictCheckHeaders("x-envoy-max-retries").addStrictCheckHeaders("x-nope").build();
    assertThat(ProtoConstraints.validate(router)).extracting(Violation::fieldPath, Violation::rule)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("strict_check_headers[1]", "string.in"));
  }

  @Test
  void severalDefects_allReported_inWalkOrder() {
    Cluster c = Cluster.newBuilder().setConnectTimeout(Duration.getDefaultInstance()).build();
    assertThat(ProtoConstraints.validate(c)).extracting(Violation::fieldPath)
        .containsExactly("name", "connect_timeout");
  }
}
