package dev.rotor.config;

import static dev.rotor.config.AdsWire.LDS;
import static dev.rotor.config.AdsWire.SDS;
import static dev.rotor.config.AdsWire.deltaSubscribe;
import static dev.rotor.config.AdsWire.names;
import static dev.rotor.config.AdsWire.node;
import static dev.rotor.config.AdsWire.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * ADS requests no Envoy sends: a type URL Rotor does not serve fails that stream with
 * INVALID_ARGUMENT (naming the field, not echoing a long input), other ADS streams go on; a first
 * request without a node is served as a node of no workload, never as someone else's.
 */
class AdsHostileInputTest {

  private static final String UNKNOWN_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.NotAType";

  private final AdsHarness ads = new AdsHarness();

  @AfterEach
  void stop() {
    ads.close();
  }

  @Test
  void sotw_unknownTypeUrl_isInvalidArgumentAndOtherStreamsAreStillServed() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var bystander = ads.ads("bystander");
    bystander.send(subscribe(node("backend"), LDS));
    bystander.awaitResponse();
    var hostile = ads.ads("hostile");

    hostile.send(subscribe(node("backend"), UNKNOWN_TYPE + "/" + "x".repeat(100_000)));

    Status closed = hostile.awaitClosed();
    assertThat(closed.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(closed.getDescription()).startsWith("type_url: ").hasSizeLessThan(600);
    ads.publish(TestIdentities.backend(), TestPolicy.demo().withBackendAlsoAllowing(TestPolicy.OPS_ID));
    assertThat(names(bystander.awaitResponse())).as("the bystander's next LDS push").isNotEmpty();
  }

  @Test
  void sotw_unknownTypeUrlAfterAGoodOne_closesOnlyThatStream() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("backend");
    envoy.send(subscribe(node("backend"), LDS));
    envoy.awaitResponse();

    envoy.send(subscribe(Node.getDefaultInstance(), UNKNOWN_TYPE));

    assertThat(envoy.awaitClosed().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    var newcomer = ads.ads("newcomer");
    newcomer.send(subscribe(node("backend"), LDS));
    assertThat(names(newcomer.awaitResponse())).isNotEmpty();
  }

  @Test
  void delta_unknownTypeUrl_isInvalidArgument() {
    var hostile = ads.deltaAds("hostile");

    hostile.send(deltaSubscribe(node("backend"), UNKNOWN_TYPE));

    Status closed = hostile.awaitClosed();
    assertThat(closed.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(closed.getDescription()).startsWith("type_url: ");
  }

  @Test
  void centralMode_firstRequestWithoutNode_getsNoWorkloadsListenersButThePodsSecret() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("no node");

    envoy.send(subscribe(Node.getDefaultInstance(), LDS));
    DiscoveryResponse lds = envoy.awaitResponse();
    envoy.send(subscribe(Node.getDefaultInstance(), SDS, "default"));
    DiscoveryResponse sds = envoy.awaitResponse();

    assertThat(names(lds)).as("listeners for a node that names no workload").isEmpty();
    assertThat(names(sds)).as("the pod's own secret, as for any caller the transport let in").containsExactly("default");
  }
}
