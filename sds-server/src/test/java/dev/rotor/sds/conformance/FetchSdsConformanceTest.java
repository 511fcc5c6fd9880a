package dev.rotor.sds.conformance;

import static dev.rotor.sds.conformance.TestIdentities.OWN_BUNDLE;
import static dev.rotor.sds.conformance.TestIdentities.PARTNER_BUNDLE;
import static dev.rotor.sds.conformance.TestIdentities.WORKLOAD;
import static dev.rotor.sds.conformance.TestIdentities.federated;
import static dev.rotor.sds.conformance.TestIdentities.workloadSvid;
import static dev.rotor.sds.conformance.Wire.names;
import static dev.rotor.sds.conformance.Wire.secret;
import static dev.rotor.sds.conformance.Wire.subscribe;
import static dev.rotor.sds.conformance.Wire.usesTrustedCa;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.rotor.identity.Svid;
import dev.rotor.protocol.StreamOptions;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.ValidationForm;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code FetchSecrets}, the unary SDS call: the same catalog and rules as the streams, answered once. */
class FetchSdsConformanceTest {

  private final SdsHarness sds = new SdsHarness();
  private final Svid svid = workloadSvid();

  @AfterEach
  void stop() throws InterruptedException {
    sds.close();
  }

  @Test
  void rule26_fetchReturnsExactlyTheRequestedSecretNamedAsRequested() {
    sds.publish(federated(svid));

    for (String name : List.of("default", WORKLOAD, "ROOTCA", OWN_BUNDLE, PARTNER_BUNDLE, "ALL")) {
      DiscoveryResponse r = sds.fetch().fetchSecrets(subscribe(name));
      assertThat(names(r)).as("fetch of %s", name).containsExactly(name);
    }
  }

  @Test
  void aliasesInOneFetchAllWork() {
    sds.publish(federated(svid));

    DiscoveryResponse r = sds.fetch().fetchSecrets(subscribe("ROOTCA", OWN_BUNDLE, "default", WORKLOAD));

    assertThat(names(r)).containsExactlyInAnyOrder("ROOTCA", OWN_BUNDLE, "default", WORKLOAD);
  }

  @Test
  void rule09_duplicateNamesAreAnsweredOnce() {
    sds.publish(federated(svid));

    DiscoveryResponse r = sds.fetch().fetchSecrets(subscribe("ROOTCA", "ROOTCA"));

    assertThat(names(r)).containsExactly("ROOTCA");
  }

  @Test
  void rule12_fetchWithoutNamesReturnsOnlyWhatTheCallerHolds() {
    sds.publish(federated(svid));

    DiscoveryResponse r = sds.fetch().fetchSecrets(subscribe());

    assertThat(names(r)).containsExactlyInAnyOrder(OWN_BUNDLE, PARTNER_BUNDLE, WORKLOAD);
  }

  @Test
  void fetchOfAnUnknownNameIsNotFound() {
    sds.publish(federated(svid));

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> sds.fetch().fetchSecrets(subscribe("ROOTCA", "spiffe://nowhere.test")));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).contains("spiffe://nowhere.test");
  }

  @Test
  void fetchOfManyUnknownNames_errorStaysSmall() {
    sds.publish(federated(svid));
    List<String> unknown = new ArrayList<>();
    for (int i = 0; i < StreamOptions.DEFAULT_MAX_RESOURCE_NAMES; i++) {
      unknown.add("spiffe://nowhere.test/" + "x".repeat(1000) + i);
    }

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> sds.fetch().fetchSecrets(subscribe(unknown.toArray(String[]::new))));

    // The description travels in a trailer: gRPC clients refuse trailers over 8 KiB by default,
    // and the caller would then see INTERNAL instead of NOT_FOUND.
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).hasSizeLessThan(2048);
  }

  @Test
  void rule28_versionIsContentDerived() {
    SecretCatalog catalog = sds.publish(federated(svid));
    DiscoveryResponse first = sds.fetch().fetchSecrets(subscribe(WORKLOAD));

    sds.publish(federated(svid));
    DiscoveryResponse same = sds.fetch().fetchSecrets(subscribe(WORKLOAD));
    sds.publish(federated(workloadSvid()));
    DiscoveryResponse rotated = sds.fetch().fetchSecrets(subscribe(WORKLOAD));

    assertThat(first.getVersionInfo())
        .isEqualTo(catalog.get(WORKLOAD, ValidationForm.SPIFFE_VALIDATOR).orElseThrow().version())
        .isEqualTo(same.getVersionInfo())
        .isNotEqualTo(rotated.getVersionInfo());
  }

  @Test
  void nodeThatDisablesTheSpiffeValidatorGetsTrustedCa() {
    sds.publish(federated(svid));

    DiscoveryResponse r = sds.fetch().fetchSecrets(subscribe(Wire.envoyNode(1, 17), "ROOTCA"));

    assertThat(usesTrustedCa(secret(r, "ROOTCA"))).isTrue();
  }

  @Test
  void wrongTypeUrlIsInvalidArgument() {
    sds.publish(federated(svid));

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> sds.fetch().fetchSecrets(subscribe("ROOTCA").toBuilder()
            .setTypeUrl("type.googleapis.com/envoy.config.listener.v3.Listener").build()));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void tooManyNamesIsInvalidArgument() {
    sds.publish(federated(svid));
    DiscoveryRequest.Builder req = subscribe().toBuilder();
    for (int i = 0; i < 100_000; i++) {
      req.addResourceNames("n" + i);
    }

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> sds.fetch().fetchSecrets(req.build()));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void megabyteNameIsInvalidArgument() {
    sds.publish(federated(svid));

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> sds.fetch().fetchSecrets(subscribe("spiffe://example.org/" + "a".repeat(1 << 20))));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).hasSizeLessThan(300);
  }
}
