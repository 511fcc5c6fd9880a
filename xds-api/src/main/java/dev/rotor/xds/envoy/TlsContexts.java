package dev.rotor.xds.envoy;

import com.google.common.net.InetAddresses;
import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
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
   *
   * <p>TLS session resumption is off (no session tickets, no session cache), so every connection
   * is a full handshake. A resumed session skips certificate validation: it would outlive the
   * client SVID's expiry and a CA leaving the bundle, and Envoy marks its peer certificate as not
   * validated, so the {@code mtls_authenticated} RBAC principals evaluate false on it (envoy#42668,
   * envoy#43922): a real Envoy client resuming its sessions got 403 on every request after the
   * first. The cost is one full ECDSA handshake per connection. docs/policy.md, "Why every
   * connection is a full handshake".
   */
  static TransportSocket downstream(SdsSecretConfigs sds, boolean federated, List<String> alpn) {
    DownstreamTlsContext tls = DownstreamTlsContext.newBuilder()
        .setCommonTlsContext(CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(sds.certificate())
            .setValidationContextSdsSecretConfig(sds.validation(federated))
            .addAllAlpnProtocols(alpn))
        .setRequireClientCertificate(BoolValue.of(true))
        .setDisableStatelessSessionResumption(true)
        .setDisableStatefulSessionResumption(true)
        .build();
    return TransportSocket.newBuilder().setName(EnvoyNames.TLS).setTypedConfig(Any.pack(tls)).build();
  }

  /**
   * Client side: present {@code default}; accept the upstream only if its certificate validates
   * against the validation secret and its URI SAN is one of {@code expected}. The SAN matchers sit
   * in the static half of a combined validation context, so a bundle rotation over SDS never
   * loosens them. SNI is the host name (never an IP literal, which SNI does not allow).
   *
   * <p>{@code max_session_keys: 0}: the client keeps no sessions, so every handshake verifies the
   * upstream's current certificate against the current bundle (a resumed session would not), also
   * towards servers whose resumption Rotor does not control.
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
    tls.setMaxSessionKeys(UInt32Value.of(0));
    if (!InetAddresses.isInetAddress(host)) {
      tls.setSni(host);
    }
    return TransportSocket.newBuilder().setName(EnvoyNames.TLS).setTypedConfig(Any.pack(tls.build())).build();
  }
}
