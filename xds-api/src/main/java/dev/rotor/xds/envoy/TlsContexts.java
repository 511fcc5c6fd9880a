package dev.rotor.xds.envoy;

import com.google.common.net.InetAddresses;
import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.spiffe.spiffeid.SpiffeId;
import java.util.List;

/**
 * Mutual-TLS transport sockets. Certificates and trust bundles always come over SDS, through the
 * shared {@link SdsSecretConfigs}, so rotation never touches a listener or cluster.
 */
final class TlsContexts {
  private TlsContexts() {}

  /** ALPN offered on HTTP inbound listeners: HTTP/2 first, HTTP/1.1 for older clients. */
  static final List<String> HTTP_ALPN = List.of("h2", "http/1.1");

  /**
   * Server side: present {@code default}, require a client certificate and validate it with the
   * validation secret (whose SPIFFE validator checks each trust domain against its own bundle).
   * Which peers are then authorized is the RBAC filters' job.
   */
  static TransportSocket downstream(SdsSecretConfigs sds, boolean federated, List<String> alpn) {
    DownstreamTlsContext tls = DownstreamTlsContext.newBuilder()
        .setCommonTlsContext(CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(sds.certificate())
            .setValidationContextSdsSecretConfig(sds.validation(federated))
            .addAllAlpnProtocols(alpn))
        .setRequireClientCertificate(BoolValue.of(true))
        .build();
    return TransportSocket.newBuilder().setName(EnvoyNames.TLS).setTypedConfig(Any.pack(tls)).build();
  }

  /**
   * Client side: present {@code default}; accept the upstream only if its certificate validates
   * against the validation secret and its URI SAN is one of {@code expected}. The SAN matchers sit
   * in the static half of a combined validation context, so a bundle rotation over SDS never
   * loosens them. SNI is the host name (never an IP literal, which SNI does not allow).
   */
  static TransportSocket upstream(SdsSecretConfigs sds, boolean federated, String host, List<SpiffeId> expected) {
    CertificateValidationContext.Builder sans = CertificateValidationContext.newBuilder();
    for (SpiffeId id : expected) {
      sans.addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
          .setSanType(SubjectAltNameMatcher.SanType.URI)
          .setMatcher(StringMatcher.newBuilder().setExact(id.toString())));
    }
    UpstreamTlsContext.Builder tls = UpstreamTlsContext.newBuilder()
        .setCommonTlsContext(CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(sds.certificate())
            .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                .setDefaultValidationContext(sans)
                .setValidationContextSdsSecretConfig(sds.validation(federated))));
    if (!InetAddresses.isInetAddress(host)) {
      tls.setSni(host);
    }
    return TransportSocket.newBuilder().setName(EnvoyNames.TLS).setTypedConfig(Any.pack(tls.build())).build();
  }
}
