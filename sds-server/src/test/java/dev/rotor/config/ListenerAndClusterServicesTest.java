package dev.rotor.config;

import static dev.rotor.config.AdsWire.CDS;
import static dev.rotor.config.AdsWire.LDS;
import static dev.rotor.config.AdsWire.ack;
import static dev.rotor.config.AdsWire.names;
import static dev.rotor.config.AdsWire.node;
import static dev.rotor.config.TestPolicy.DB;
import static dev.rotor.config.TestPolicy.INBOUND;
import static dev.rotor.config.TestPolicy.LOCAL_APP;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** LDS and CDS on their own streams, for Envoys configured without ADS. */
class ListenerAndClusterServicesTest {

  private static final Node BACKEND = node("backend");

  private final AdsHarness ads = new AdsHarness();

  @AfterEach
  void stop() {
    ads.close();
  }

  @Test
  void lds_servesTheNodesListeners_andRequestsNeedNoTypeUrl() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.lds("backend");

    envoy.send(DiscoveryRequest.newBuilder().setNode(BACKEND).build());
    DiscoveryResponse r = envoy.awaitResponse();

    assertThat(r.getTypeUrl()).isEqualTo(LDS);
    assertThat(names(r)).containsExactly(INBOUND, DB.envoyName());
    envoy.send(ack(r));
    envoy.assertNoResponse();
    ads.publish(TestPolicy.demo().withoutBackendOutbound(DB));
    assertThat(names(envoy.awaitResponse())).containsExactly(INBOUND);
  }

  @Test
  void cds_servesTheNodesClusters_andRequestsNeedNoTypeUrl() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.cds("backend");

    envoy.send(DiscoveryRequest.newBuilder().setNode(BACKEND).build());
    DiscoveryResponse r = envoy.awaitResponse();

    assertThat(r.getTypeUrl()).isEqualTo(CDS);
    assertThat(names(r)).containsExactly(LOCAL_APP, DB.envoyName());
    envoy.send(ack(r));
    envoy.assertNoResponse();
    ads.publish(TestPolicy.demo().withoutBackendOutbound(DB));
    assertThat(names(envoy.awaitResponse())).containsExactly(LOCAL_APP);
  }

  @Test
  void deltaLdsAndCds_serveTheNodesResources() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var lds = ads.deltaLds("backend");
    var cds = ads.deltaCds("backend");

    lds.send(DeltaDiscoveryRequest.newBuilder().setNode(BACKEND).build());
    cds.send(DeltaDiscoveryRequest.newBuilder().setNode(BACKEND).build());

    DeltaDiscoveryResponse listeners = lds.awaitResponse();
    DeltaDiscoveryResponse clusters = cds.awaitResponse();
    assertThat(listeners.getTypeUrl()).isEqualTo(LDS);
    assertThat(AdsWire.names(listeners)).containsExactlyInAnyOrder(INBOUND, DB.envoyName());
    assertThat(clusters.getTypeUrl()).isEqualTo(CDS);
    assertThat(AdsWire.names(clusters)).containsExactlyInAnyOrder(LOCAL_APP, DB.envoyName());
  }

  @Test
  void lds_refusesAnotherType() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.lds("backend");

    envoy.send(AdsWire.subscribe(BACKEND, CDS));

    Status closed = envoy.awaitClosed();
    assertThat(closed.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(closed.getDescription()).contains("is not served here");
  }
}
