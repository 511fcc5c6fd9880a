package dev.rotor.xds.secret;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import dev.rotor.identity.Pem;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** Builds Envoy {@link Secret}s from identities. Pure functions; output is deterministic. */
public final class SecretBuilder {

  /** The typed-extension name of Envoy's SPIFFE certificate validator. */
  public static final String SPIFFE_VALIDATOR_NAME = "envoy.tls.cert_validator.spiffe";

  private SecretBuilder() {}

  /** A TLS certificate secret: full chain (leaf first) as PEM, PKCS#8 key as PEM, both inline. */
  public static Secret tlsCertificate(String name, Svid svid) {
    return Secret.newBuilder()
        .setName(name)
        .setTlsCertificate(TlsCertificate.newBuilder()
            .setCertificateChain(inline(Pem.certificates(svid.chain())))
            .setPrivateKey(inline(Pem.privateKey(svid.privateKey()))))
        .build();
  }

  /**
   * A validation-context secret for the given bundles. With {@link ValidationForm#SPIFFE_VALIDATOR}
   * one {@code trust_domains} entry per bundle, sorted by name, names without {@code spiffe://}
   * (Envoy rejects the prefix). With {@link ValidationForm#TRUSTED_CA} exactly one bundle.
   */
  public static Secret validationContext(String name, Collection<TrustBundle> bundles, ValidationForm form) {
    if (bundles.isEmpty()) {
      throw new IllegalArgumentException("bundles: empty (expected: at least one trust bundle)");
    }
    CertificateValidationContext.Builder vc = CertificateValidationContext.newBuilder();
    if (form == ValidationForm.TRUSTED_CA) {
      if (bundles.size() != 1) {
        throw new IllegalArgumentException(
            "bundles: " + bundles.size() + " (expected: exactly one with trusted_ca; several trust domains need the SPIFFE validator)");
      }
      vc.setTrustedCa(inline(Pem.certificates(bundles.iterator().next().authorities())));
    } else {
      SPIFFECertValidatorConfig.Builder spiffe = SPIFFECertValidatorConfig.newBuilder();
      List<TrustBundle> sorted = bundles.stream()
          .sorted(Comparator.comparing(b -> b.trustDomain().getName()))
          .toList();
      for (TrustBundle b : sorted) {
        spiffe.addTrustDomains(SPIFFECertValidatorConfig.TrustDomain.newBuilder()
            .setName(b.trustDomain().getName())
            .setTrustBundle(inline(Pem.certificates(b.authorities()))));
      }
      vc.setCustomValidatorConfig(TypedExtensionConfig.newBuilder()
          .setName(SPIFFE_VALIDATOR_NAME)
          .setTypedConfig(Any.pack(spiffe.build())));
    }
    return Secret.newBuilder().setName(name).setValidationContext(vc).build();
  }

  private static DataSource inline(byte[] bytes) {
    return DataSource.newBuilder().setInlineBytes(ByteString.copyFrom(bytes)).build();
  }
}
