package dev.rotor.xds.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Duration;
import dev.rotor.xds.secret.SecretNaming;
import dev.rotor.xds.validate.ProtoConstraints;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import org.junit.jupiter.api.Test;

class SdsSecretConfigsTest {

  private static final Duration TEN_SECONDS = Duration.newBuilder().setSeconds(10).build();

  @Test
  void overAds_isAdsV3_withAnExplicitInitialFetchTimeout() {
    SdsSecretConfigs sds = SdsSecretConfigs.overAds(SecretNaming.SPIRE_DEFAULTS);
    assertThat(sds.configSource()).isEqualTo(ConfigSource.newBuilder()
        .setAds(AggregatedConfigSource.getDefaultInstance())
        .setResourceApiVersion(ApiVersion.V3)
        .setInitialFetchTimeout(TEN_SECONDS)
        .build());
  }

  @Test
  void overGrpc_namesTheBootstrapCluster() {
    SdsSecretConfigs sds = SdsSecretConfigs.overGrpc("rotor", SecretNaming.SPIRE_DEFAULTS);
    assertThat(sds.configSource()).isEqualTo(ConfigSource.newBuilder()
        .setApiConfigSource(ApiConfigSource.newBuilder()
            .setApiType(ApiConfigSource.ApiType.GRPC)
            .setTransportApiVersion(ApiVersion.V3)
            .addGrpcServices(GrpcService.newBuilder().setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName("rotor"))))
        .setResourceApiVersion(ApiVersion.V3)
        .setInitialFetchTimeout(TEN_SECONDS)
        .build());
    assertThatThrownBy(() -> SdsSecretConfigs.overGrpc("", SecretNaming.SPIRE_DEFAULTS))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void names_followSpiresAliases() {
    SdsSecretConfigs sds = SdsSecretConfigs.overAds(SecretNaming.SPIRE_DEFAULTS);
    assertThat(sds.certificate().getName()).isEqualTo("default");
    assertThat(sds.validation(false).getName()).isEqualTo("ROOTCA");
    assertThat(sds.validation(true).getName()).isEqualTo("ALL");
    SdsSecretConfigs custom = SdsSecretConfigs.overAds(new SecretNaming("svid", "bundle", "bundles"));
    assertThat(custom.certificate().getName()).isEqualTo("svid");
    assertThat(custom.validation(true).getName()).isEqualTo("bundles");
  }

  @Test
  void everyReference_carriesTheSameConfigSourceInstanceBytes() {
    SdsSecretConfigs sds = SdsSecretConfigs.overGrpc("rotor", SecretNaming.SPIRE_DEFAULTS);
    var bytes = sds.configSource().toByteString();
    assertThat(sds.certificate().getSdsConfig().toByteString()).isEqualTo(bytes);
    assertThat(sds.validation(false).getSdsConfig().toByteString()).isEqualTo(bytes);
    assertThat(sds.validation(true).getSdsConfig().toByteString()).isEqualTo(bytes);
    // The same object each time, not a rebuilt equal one.
    assertThat(sds.certificate()).isSameAs(sds.certificate());
  }

  @Test
  void references_passEnvoysConstraints() {
    SdsSecretConfigs sds = SdsSecretConfigs.overGrpc("rotor", SecretNaming.SPIRE_DEFAULTS);
    assertThat(ProtoConstraints.validate(sds.certificate())).isEmpty();
    assertThat(ProtoConstraints.validate(SdsSecretConfigs.overAds(SecretNaming.SPIRE_DEFAULTS).validation(true))).isEmpty();
  }
}
