package dev.rotor.config;

import static dev.rotor.config.AdsWire.CDS;
import static dev.rotor.config.AdsWire.LDS;
import static dev.rotor.config.AdsWire.ack;
import static dev.rotor.config.AdsWire.names;
import static dev.rotor.config.AdsWire.node;
import static dev.rotor.config.AdsWire.subscribe;
import static dev.rotor.config.TestPolicy.BACKEND;
import static dev.rotor.config.TestPolicy.BACKEND_ID;
import static dev.rotor.config.TestPolicy.DB;
import static dev.rotor.config.TestPolicy.FRONTEND_ID;
import static dev.rotor.config.TestPolicy.INBOUND;
import static dev.rotor.config.TestPolicy.LOCAL_APP;
import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which workload's listeners and clusters an Envoy gets: by its {@code node.id} (a central Rotor
 * serving many Envoys), or else by the SPIFFE ID Rotor itself holds (a pod-local Rotor, whose
 * identity is the pod's).
 */
class WorkloadSelectionTest {

  private final AdsHarness ads = new AdsHarness();

  @AfterEach
  void stop() {
    ads.close();
  }

  @Test
  void central_twoNodesOnOneRotorEachGetTheirOwnWorkload() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var backend = ads.ads("backend");
    var frontend = ads.ads("frontend");

    backend.send(subscribe(node("backend"), CDS), subscribe(node("backend"), LDS));
    frontend.send(subscribe(node("frontend"), CDS), subscribe(node("frontend"), LDS));

    assertThat(names(backend.awaitResponse())).containsExactly(LOCAL_APP, DB.envoyName());
    assertThat(names(backend.awaitResponse())).containsExactly(INBOUND, DB.envoyName());
    assertThat(names(frontend.awaitResponse())).containsExactly(BACKEND.envoyName());
    assertThat(names(frontend.awaitResponse())).containsExactly(BACKEND.envoyName());
  }

  @Test
  void podLocal_nodeNotInThePolicyGetsTheWorkloadOfRotorsOwnSpiffeId() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo()).ownId(BACKEND_ID);
    var envoy = ads.ads("sidecar");
    Node sidecar = node("backend-7f9c4-x2b8q"); // a pod name: not a node id the policy knows

    envoy.send(subscribe(sidecar, CDS), subscribe(sidecar, LDS));

    assertThat(names(envoy.awaitResponse())).containsExactly(LOCAL_APP, DB.envoyName());
    assertThat(names(envoy.awaitResponse())).containsExactly(INBOUND, DB.envoyName());
  }

  @Test
  void podLocal_nodeIdThatNamesAWorkloadWinsOverRotorsOwnId() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo()).ownId(BACKEND_ID);
    var envoy = ads.ads("frontend");

    envoy.send(subscribe(node("frontend"), LDS));

    assertThat(names(envoy.awaitResponse())).containsExactly(BACKEND.envoyName());
  }

  @Test
  void podLocal_listenersArriveWhenRotorLearnsItsOwnId() {
    ads.publish(TestIdentities.backend(), TestPolicy.demo());
    var envoy = ads.ads("sidecar");
    Node sidecar = node("backend-7f9c4-x2b8q");
    envoy.send(subscribe(sidecar, LDS));
    DiscoveryResponse before = envoy.awaitResponse();
    envoy.send(ack(before));
    ads.events.awaitAcks(1);

    ads.ownId(BACKEND_ID);

    assertThat(before.getResourcesList()).isEmpty();
    assertThat(names(envoy.awaitResponse())).containsExactly(INBOUND, DB.envoyName());
  }

  @Test
  void podLocal_ownIdOfAnotherWorkloadServesThatWorkload() {
    ads.publish(TestIdentities.of(FRONTEND_ID), TestPolicy.demo()).ownId(FRONTEND_ID);
    var envoy = ads.ads("sidecar");

    envoy.send(subscribe(node("frontend-5d8b-k2"), LDS));

    assertThat(names(envoy.awaitResponse())).containsExactly(BACKEND.envoyName());
  }
}
