package dev.rotor.sds.conformance;

import static dev.rotor.sds.conformance.TestIdentities.WORKLOAD;
import static dev.rotor.sds.conformance.TestIdentities.federated;
import static dev.rotor.sds.conformance.TestIdentities.workloadSvid;
import static dev.rotor.sds.conformance.Wire.ack;
import static dev.rotor.sds.conformance.Wire.deltaAck;
import static dev.rotor.sds.conformance.Wire.deltaSubscribe;
import static dev.rotor.sds.conformance.Wire.nack;
import static dev.rotor.sds.conformance.Wire.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import dev.rotor.identity.Svid;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/**
 * The push log ({@code rotor.push}): one line per response, ACK and NACK, saying which stream,
 * node, type, version, nonce, serial and not-after; and no log line anywhere carries key material.
 */
class PushLogTest {

  private final Logger push = (Logger) LoggerFactory.getLogger("rotor.push");
  private final Logger engine = (Logger) LoggerFactory.getLogger("dev.rotor");
  private final ListAppender<ILoggingEvent> pushLines = new ListAppender<>();
  private final ListAppender<ILoggingEvent> allLines = new ListAppender<>();
  private SdsHarness sds;

  @BeforeEach
  void capture() {
    pushLines.start();
    allLines.start();
    for (Logger l : List.of(push, engine)) {
      l.setLevel(Level.DEBUG); // everything, debug included, to search it for keys
      l.setAdditive(false); // and keep it off the console
      l.addAppender(allLines);
    }
    push.addAppender(pushLines);
    sds = new SdsHarness();
  }

  @AfterEach
  void release() throws InterruptedException {
    sds.close();
    for (Logger l : List.of(push, engine)) {
      l.detachAppender(allLines);
      l.setLevel(null);
      l.setAdditive(true);
    }
    push.detachAppender(pushLines);
  }

  @Test
  void oneLinePerResponseAckAndNackWithWhatAnOperatorNeeds() {
    Svid svid = workloadSvid();
    sds.publish(federated(svid));
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD));
    DiscoveryResponse r1 = peer.awaitResponse();
    peer.send(ack(r1, WORKLOAD));
    sds.events.awaitAck();
    Svid rotated = workloadSvid();
    sds.publish(federated(rotated));
    DiscoveryResponse r2 = peer.awaitResponse();
    peer.send(nack(r2, r1.getVersionInfo(), WORKLOAD));
    sds.events.awaitNack();

    List<Map<String, String>> responses = lines("response");
    assertThat(responses).hasSize(2);
    assertThat(lines("ack")).hasSize(1);
    assertThat(lines("nack")).hasSize(1);

    Map<String, String> first = responses.get(0);
    assertThat(first).containsEntry("node", Wire.NODE.getId()).containsEntry("type", "sds")
        .containsEntry("version", r1.getVersionInfo()).containsEntry("nonce", r1.getNonce())
        .containsEntry("resources", "[" + WORKLOAD + "]")
        .containsEntry("serials", "[" + svid.serialHex() + "]")
        .containsEntry("not_after", "[" + svid.notAfter() + "]")
        .containsKey("stream");
    assertThat(responses.get(1)).containsEntry("nonce", r2.getNonce())
        .containsEntry("serials", "[" + rotated.serialHex() + "]")
        .containsEntry("not_after", "[" + rotated.notAfter() + "]");
    assertThat(lines("ack").get(0)).containsEntry("stream", first.get("stream"))
        .containsEntry("node", Wire.NODE.getId()).containsEntry("type", "sds")
        .containsEntry("version", r1.getVersionInfo()).containsEntry("nonce", r1.getNonce());
    assertThat(lines("nack").get(0)).containsEntry("stream", first.get("stream"))
        .containsEntry("node", Wire.NODE.getId()).containsEntry("nonce", r2.getNonce())
        .containsEntry("version", r1.getVersionInfo())
        .containsEntry("error", "Unexpected SDS secret (test)");
    assertThat(captured(pushLines)).filteredOn(e -> "nack".equals(kv(e).get("event")))
        .extracting(ILoggingEvent::getLevel).containsExactly(Level.WARN);
  }

  /**
   * Issue 15: an Envoy 1.17 asking for ALL was told it "does not exist (yet)"; it never will for that
   * Envoy. Each absent name's line says what is actually missing.
   */
  @Test
  void anAbsentSecret_isLoggedWithWhatIsActuallyMissing() {
    var early = sds.sotw();
    early.send(subscribe("default"));
    awaitUnknown("default", "no identity has passed the gate yet; it will be pushed when one does");

    sds.publish(federated(workloadSvid()));
    var legacy = sds.sotw();
    legacy.send(subscribe(Wire.envoyNode(1, 17), "ALL", "spiffe://nowhere.test",
        "spiffe://example.org/ns/demo/sa/nobody"));

    awaitUnknown("ALL", "\"ALL\" (every trust domain's bundle in one validation context) needs Envoy's SPIFFE"
        + " certificate validator, and this Envoy gets trusted_ca contexts: this Envoy reports version 1.17.0,"
        + " older than 1.18, which has no SPIFFE validator; it is never served to this Envoy (ask for each trust"
        + " domain's bundle, spiffe://<trust-domain>, or use Envoy 1.18 or later without"
        + " disable_spiffe_cert_validation)");
    awaitUnknown("spiffe://nowhere.test", "Rotor holds no bundle of that trust domain (not the own trust domain, and"
        + " the agent sent no federated bundle for it: is the workload's entry federated with it?); it will be pushed"
        + " when it appears");
    awaitUnknown("spiffe://example.org/ns/demo/sa/nobody", "Rotor holds no SVID with that SPIFFE ID for this caller");
    assertThat(pushLines.list.stream().map(ILoggingEvent::getFormattedMessage))
        .noneMatch(m -> m.contains("does not exist (yet)"));
  }

  private void awaitUnknown(String resource, String why) {
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> pushLines.list.stream()
        .anyMatch(e -> resource.equals(field(e, "resource"))
            && e.getFormattedMessage().startsWith("subscribed resource is not served: " + why)));
  }

  private static Object field(ILoggingEvent e, String key) {
    return e.getKeyValuePairs() == null ? null : e.getKeyValuePairs().stream().filter(kv -> kv.key.equals(key))
        .map(kv -> kv.value).findFirst().orElse(null);
  }

  @Test
  void deltaResponsesAndAcksAreLoggedToo() {
    sds.publish(federated(workloadSvid()));
    var peer = sds.delta();
    peer.send(deltaSubscribe(WORKLOAD, "spiffe://nowhere.test"));
    DeltaDiscoveryResponse r = peer.awaitResponse();
    peer.send(deltaAck(r));
    sds.events.awaitAck();

    assertThat(lines("response")).singleElement().satisfies(line -> assertThat(line)
        .containsEntry("nonce", r.getNonce()).containsEntry("resources", "[" + WORKLOAD + "]")
        .containsEntry("removed", "[spiffe://nowhere.test]").containsEntry("kind", "sds_delta"));
    assertThat(lines("ack")).singleElement().satisfies(line -> assertThat(line)
        .containsEntry("nonce", r.getNonce()));
  }

  @Test
  void noLogLineEverCarriesKeyMaterial() throws InterruptedException {
    Svid svid = workloadSvid();
    Svid rotated = workloadSvid();
    sds.publish(federated(svid));
    // Every kind of event: responses with keys (SotW, delta, aliases), ACK, NACK, stale nonce,
    // unknown name, a failed stream, Fetch.
    var peer = sds.sotw();
    peer.send(subscribe(WORKLOAD, "default", "spiffe://nowhere.test"));
    DiscoveryResponse r1 = peer.awaitResponse();
    peer.send(ack(r1, WORKLOAD, "default", "spiffe://nowhere.test"));
    sds.events.awaitAck();
    sds.publish(federated(rotated));
    DiscoveryResponse r2 = peer.awaitResponse();
    peer.send(ack(r1, WORKLOAD));
    sds.events.awaitStaleNonce();
    peer.send(nack(r2, r1.getVersionInfo(), WORKLOAD, "default"));
    sds.events.awaitNack();
    var delta = sds.delta();
    delta.send(deltaSubscribe(WORKLOAD, "default"));
    delta.awaitResponse();
    var hostile = sds.sotw();
    hostile.send(subscribe("x".repeat(10_000)));
    hostile.awaitClosed();
    sds.fetch().fetchSecrets(subscribe("default"));
    sds.close(); // every stream ends, so every line (stream closed included) is written

    List<ILoggingEvent> all = captured(allLines);
    assertThat(all).isNotEmpty();
    for (Svid s : List.of(svid, rotated)) {
      List<String> forbidden = keyFragments(s);
      for (ILoggingEvent e : all) {
        String text = render(e);
        for (String f : forbidden) {
          assertThat(text).as("log line %s", e.getMessage()).doesNotContain(f);
        }
      }
    }
  }

  /** The key-value pairs of each push-log line of one kind, values as text. */
  private List<Map<String, String>> lines(String event) {
    List<Map<String, String>> out = new ArrayList<>();
    for (ILoggingEvent e : captured(pushLines)) {
      Map<String, String> kv = kv(e);
      if (event.equals(kv.get("event"))) {
        out.add(kv);
      }
    }
    return out;
  }

  /** A copy of what the appender holds; stream executors may still be appending. */
  private static List<ILoggingEvent> captured(ListAppender<ILoggingEvent> appender) {
    synchronized (appender) { // AppenderBase.doAppend holds this lock while it appends
      return List.copyOf(appender.list);
    }
  }

  private static Map<String, String> kv(ILoggingEvent e) {
    Map<String, String> m = new LinkedHashMap<>();
    if (e.getKeyValuePairs() != null) {
      for (KeyValuePair p : e.getKeyValuePairs()) {
        m.put(p.key, String.valueOf(p.value));
      }
    }
    return m;
  }

  private static String render(ILoggingEvent e) {
    StringBuilder b = new StringBuilder(e.getFormattedMessage());
    kv(e).forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
    if (e.getArgumentArray() != null) {
      b.append(Arrays.deepToString(e.getArgumentArray()));
    }
    if (e.getThrowableProxy() != null) {
      b.append(ThrowableProxyUtil.asString(e.getThrowableProxy()));
    }
    return b.toString();
  }

  /** Text that would betray the key: the PEM marker, each PEM body line, the DER as base64 and hex. */
  private static List<String> keyFragments(Svid svid) {
    byte[] der = svid.privateKey().getEncoded();
    List<String> f = new ArrayList<>();
    f.add("PRIVATE KEY");
    f.add(java.util.Base64.getEncoder().encodeToString(der));
    f.add(HexFormat.of().formatHex(der, der.length - 32, der.length));
    String pem = new String(dev.rotor.identity.Pem.privateKey(svid.privateKey()), StandardCharsets.US_ASCII);
    for (String line : pem.split("\n")) {
      if (!line.startsWith("-----") && line.length() >= 16) {
        f.add(line);
      }
    }
    return f;
  }
}
