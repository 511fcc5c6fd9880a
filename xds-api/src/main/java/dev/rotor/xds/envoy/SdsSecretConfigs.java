package dev.rotor.xds.envoy;

import static java.util.Objects.requireNonNull;

import dev.rotor.xds.secret.SecretNaming;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import java.time.Duration;

/**
 * The one place that builds {@link SdsSecretConfig}s. Every listener and cluster gets its
 * references to secrets from here, built once, so they are byte-identical everywhere.
 *
 * <p>Why that matters (xds-protocol rule 24): Envoy keys its SDS providers by the secret name
 * <em>and</em> the bytes of {@code sds_config}, so two configs for the same name that differ in
 * any field of the {@link ConfigSource} (even one that looks irrelevant, such as a timeout) make
 * two providers; the one created by a later LDS/CDS update may never receive the secret and
 * leaves its listener or cluster warming until {@code initial_fetch_timeout} [envoy#47309].
 *
 * <p>Secrets referenced: the certificate (SPIRE's {@code default}) and one validation secret —
 * the own trust domain's bundle ({@code ROOTCA}) or, with federation, all bundles ({@code ALL}).
 * Both validation secrets carry Envoy's SPIFFE certificate validator config, so each trust
 * domain is checked only against its own bundle.
 */
public final class SdsSecretConfigs {

  /**
   * How long Envoy waits for a secret before it stops warming a listener or cluster that needs it:
   * 10 s, set explicitly (rule 25) instead of Envoy's implicit 15 s. Rotor serves secrets from an
   * in-memory catalog, so a secret that exists arrives within milliseconds; when one is missing
   * it is because no identity has passed the gate yet (the SPIRE agent has not attested the
   * workload), and waiting longer does not make it appear. Ten seconds still covers a slow first
   * attestation at pod start. The timeout only ends the wait: the SDS subscription stays open, the
   * secret is applied when it arrives, and until then a TLS listener without a certificate fails
   * handshakes (fails closed) rather than serving anything in plain text. Zero (wait forever)
   * would block Envoy's initialization, and with it listeners that need no secret, on one
   * missing identity.
   */
  public static final Duration INITIAL_FETCH_TIMEOUT = Duration.ofSeconds(10);

  private final SecretNaming naming;
  private final ConfigSource configSource;
  private final SdsSecretConfig certificate;
  private final SdsSecretConfig ownTrustDomain;
  private final SdsSecretConfig allTrustDomains;

  private SdsSecretConfigs(SecretNaming naming, ConfigSource configSource) {
    this.naming = naming;
    this.configSource = configSource;
    this.certificate = reference(naming.defaultSvidName(), configSource);
    this.ownTrustDomain = reference(naming.defaultBundleName(), configSource);
    this.allTrustDomains = reference(naming.allBundlesName(), configSource);
  }

  /** Secrets over the ADS stream ({@code ads: {}}): Rotor serves SDS on the same stream as LDS/CDS. */
  public static SdsSecretConfigs overAds(SecretNaming naming) {
    requireNonNull(naming, "naming");
    return new SdsSecretConfigs(naming, common()
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .build());
  }

  /**
   * Secrets over their own gRPC streams to the cluster {@code sdsClusterName}, which the Envoy
   * bootstrap defines (e.g. Rotor's UDS).
   */
  public static SdsSecretConfigs overGrpc(String sdsClusterName, SecretNaming naming) {
    requireNonNull(sdsClusterName, "sdsClusterName");
    requireNonNull(naming, "naming");
    if (sdsClusterName.isEmpty()) {
      throw new IllegalArgumentException("sdsClusterName: \"\" (expected: the name of a bootstrap cluster)");
    }
    return new SdsSecretConfigs(naming, common()
        .setApiConfigSource(ApiConfigSource.newBuilder()
            .setApiType(ApiConfigSource.ApiType.GRPC)
            .setTransportApiVersion(ApiVersion.V3)
            .addGrpcServices(GrpcService.newBuilder()
                .setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName(sdsClusterName))))
        .build());
  }

  /** The {@code sds_config} shared by every reference. */
  public ConfigSource configSource() {
    return configSource;
  }

  /** The workload's own certificate ({@code default} by SPIRE's naming). */
  public SdsSecretConfig certificate() {
    return certificate;
  }

  /**
   * The validation secret: {@code ROOTCA} (own trust domain only) or, when peers from other trust
   * domains must be accepted, {@code ALL} (every bundle, own and federated).
   */
  public SdsSecretConfig validation(boolean federated) {
    return federated ? allTrustDomains : ownTrustDomain;
  }

  public SecretNaming naming() {
    return naming;
  }

  private static ConfigSource.Builder common() {
    return ConfigSource.newBuilder()
        .setResourceApiVersion(ApiVersion.V3)
        .setInitialFetchTimeout(com.google.protobuf.Duration.newBuilder()
            .setSeconds(INITIAL_FETCH_TIMEOUT.getSeconds())
            .setNanos(INITIAL_FETCH_TIMEOUT.getNano()));
  }

  private static SdsSecretConfig reference(String name, ConfigSource source) {
    return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(source).build();
  }
}
