package dev.rotor.sds.conformance;

import static dev.rotor.sds.conformance.TestIdentities.OWN_BUNDLE;
import static dev.rotor.sds.conformance.TestIdentities.WORKLOAD;
import static dev.rotor.sds.conformance.TestIdentities.federated;
import static dev.rotor.sds.conformance.TestIdentities.workloadSvid;
import static dev.rotor.sds.conformance.Wire.ack;
import static dev.rotor.sds.conformance.Wire.deltaAck;
import static dev.rotor.sds.conformance.Wire.deltaNext;
import static dev.rotor.sds.conformance.Wire.deltaSubscribe;
import static dev.rotor.sds.conformance.Wire.names;
import static dev.rotor.sds.conformance.Wire.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.rpc.Status;
import dev.rotor.protocol.StreamLimits;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Requests that are well-formed protobuf but nonsense as xDS: garbage nonces, no node,
 * unsubscribes of names never subscribed, absurdly long free-text fields. Each gets a
 * protocol-correct answer (usually: none), the stream keeps serving, and nothing the client
 * controls is written to the push log at a length the client chose.
 */
class MalformedRequestTest {

  private static final String MEGABYTE = "n".repeat(1 << 20);
  /** A log value may be abbreviated, never as long as the client made it. */
  private static final int MAX_LOGGED_VALUE = 4_096;

  private final SdsHarness sds = new SdsHarness();
  private final Logger pushLog = (Logger) LoggerFactory.getLogger("rotor.push");
  private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  private Level levelBefore;

  @BeforeEach
  void capturePushLog() {
    levelBefore = pushLog.getLevel();
    pushLog.setLevel(Level.DEBUG);
    logged.start();
    pushLog.addAppender(logged);
  }

  @AfterEach
  void stop() throws InterruptedException {
    sds.close();
    pushLog.detachAppender(logged);
    pushLog.setLevel(levelBefore);
  }

  @Test
  void sotw_garbageNonceAfterTheFirstResponse_isIgnoredAndTheStreamServesOn() {
    sds.publish(federated(workloadSvid()));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r1 = peer.awaitResponse();

    // A nonce this stream never sent, asking for more: stale by definition (rule 3), so ignored.
    peer.send(DiscoveryRequest.newBuilder(ack(r1, WORKLOAD, OWN_BUNDLE)).setResponseNonce("\u0000garbage\uFFFD").build());
    peer.send(DiscoveryRequest.newBuilder(ack(r1, WORKLOAD, OWN_BUNDLE)).setResponseNonce(MEGABYTE).build());
    peer.assertNoResponse();

    peer.send(ack(r1, WORKLOAD, OWN_BUNDLE));
    assertThat(names(peer.awaitResponse())).containsExactly(OWN_BUNDLE);
    assertThat(sds.events.staleNonces).hasSize(2);
  }

  @Test
  void sotw_nackWithAGarbageNonce_isNotCountedAsANackOfWhatWasSent() {
    sds.publish(federated(workloadSvid()));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r1 = peer.awaitResponse();

    peer.send(DiscoveryRequest.newBuilder(ack(r1, WORKLOAD)).setResponseNonce("not-a-nonce-of-ours")
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage(MEGABYTE)).build());

    peer.assertNoResponse();
    assertThat(sds.events.nacks).isEmpty();
    sds.publish(federated(workloadSvid()));
    assertThat(names(peer.awaitResponse())).containsExactly(WORKLOAD);
  }

  @Test
  void sotw_firstRequestWithoutNode_isServedAsAnEnvoyOfUnknownVersion() {
    sds.publish(federated(workloadSvid()));
    var peer = sds.sotw();

    peer.send(subscribe(WORKLOAD, OWN_BUNDLE).toBuilder().clearNode().build());

    DiscoveryResponse r = peer.awaitResponse();
    assertThat(names(r)).containsExactlyInAnyOrder(WORKLOAD, OWN_BUNDLE);
    assertThat(Wire.usesTrustedCa(Wire.secret(r, OWN_BUNDLE))).as("SPIFFE validator, as for any node").isFalse();
  }

  @Test
  void delta_garbageNonce_subscriptionChangesStillApply() {
    sds.publish(federated(workloadSvid()));
    var peer = sds.delta();
    peer.send(deltaSubscribe(WORKLOAD));
    DeltaDiscoveryResponse r1 = peer.awaitResponse();

    peer.send(deltaNext(r1).setResponseNonce(MEGABYTE).addResourceNamesSubscribe(OWN_BUNDLE)
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage("garbage")).build());

    // Rule 4: a stale nonce's subscription changes still apply.
    assertThat(Wire.names(peer.awaitResponse())).containsExactly(OWN_BUNDLE);
    assertThat(sds.events.staleNonces).hasSize(1);
  }

  @Test
  void delta_tenThousandUnsubscribesOfNamesNeverSubscribed_areIgnoredEveryTime() {
    sds.publish(federated(workloadSvid()));
    var peer = sds.delta();
    peer.send(deltaSubscribe(WORKLOAD));
    DeltaDiscoveryResponse r1 = peer.awaitResponse();
    List<String> neverSubscribed = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      neverSubscribed.add("spiffe://example.org/never/" + i);
    }

    for (int i = 0; i < 20; i++) {
      peer.send(deltaAck(r1).toBuilder().addAllResourceNamesUnsubscribe(neverSubscribed).build());
    }

    peer.assertNoResponse();
    sds.publish(federated(workloadSvid()));
    DeltaDiscoveryResponse rotated = peer.awaitResponse();
    assertThat(Wire.names(rotated)).containsExactly(WORKLOAD);
    assertThat(rotated.getRemovedResourcesList()).as("names never subscribed are never reported").isEmpty();
  }

  @Test
  void pushLog_neverWritesAClientsMegabyteFieldsInFull() {
    sds.publish(federated(workloadSvid()));
    // The largest node accepted: a longer id, or a node over --max-node-bytes, ends the stream
    // (XdsStreamLimitsTest); version_info, nonces and the NACK's message stay a megabyte.
    Node hugeNode = Wire.NODE.toBuilder().setId("n".repeat(StreamLimits.MAX_NODE_ID_CHARS))
        .setCluster(MEGABYTE.substring(0, 200 * 1024)).build();
    var sotw = sds.sotw();
    sotw.send(subscribe(hugeNode, WORKLOAD));
    DiscoveryResponse r1 = sotw.awaitResponse();
    // An ACK and a NACK of our own nonce, with a version_info of the client's choosing.
    sotw.send(DiscoveryRequest.newBuilder(ack(r1, WORKLOAD)).setVersionInfo(MEGABYTE).build());
    sds.events.awaitAck();
    sds.publish(federated(workloadSvid()));
    DiscoveryResponse r2 = sotw.awaitResponse();
    sotw.send(Wire.nack(r2, MEGABYTE, WORKLOAD));
    sds.events.awaitNack();
    sotw.send(DiscoveryRequest.newBuilder(ack(r2, WORKLOAD)).setResponseNonce(MEGABYTE).build());
    sds.events.awaitStaleNonce();
    var delta = sds.delta();
    delta.send(deltaSubscribe(WORKLOAD).toBuilder().setNode(hugeNode).build());
    delta.awaitResponse();

    List<ILoggingEvent> events;
    synchronized (logged) {
      events = List.copyOf(logged.list);
    }
    assertThat(events).as("push log events").hasSizeGreaterThanOrEqualTo(6);
    for (ILoggingEvent e : events) {
      for (var kv : e.getKeyValuePairs()) {
        assertThat(String.valueOf(kv.value).length())
            .as("length of %s in the push log's \"%s\" event", kv.key, e.getMessage())
            .isLessThanOrEqualTo(MAX_LOGGED_VALUE);
      }
    }
  }
}
