package dev.rotor.status;

import dev.rotor.protocol.Caller;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.StringValue;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.xds.CertificateInfo;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What the registry derives from engine events: per resource, what was sent, ACKed and NACKed. */
class StreamRegistryTest {

  private final StreamRegistry registry =
      new StreamRegistry(Clock.fixed(Instant.parse("2030-01-01T00:00:00Z"), ZoneOffset.UTC));
  private final StreamInfo sds = new StreamInfo(1, StreamInfo.Kind.SDS_SOTW, new Caller.PodLocal("uid=101"));

  private static Resource secret(String name, String version, String serial) {
    return new Resource(name, version, Any.pack(StringValue.of("key material stand-in")),
        Optional.of(new CertificateInfo("spiffe://example.org/w", serial, Instant.parse("2030-01-01T01:00:00Z"))));
  }

  private TypeStatus secrets() {
    return registry.streams().get(0).types().get(TypeUrls.SECRET);
  }

  @Test
  void subscribedButMissing_isRequested_thenSent_thenAcked() {
    registry.streamOpened(sds);
    registry.subscriptionChanged(sds, TypeUrls.SECRET, Set.of("default"), false);
    registry.unknownResource(sds, TypeUrls.SECRET, "default");
    assertThat(secrets().resources().get("default").state()).isEqualTo(ResourceStatus.State.REQUESTED);
    assertThat(secrets().state()).isEqualTo(TypeStatus.SyncState.NOT_SENT);

    registry.responseSent(sds, TypeUrls.SECRET, "set1", "n1", List.of(secret("default", "v1", "a1")), List.of(),
        OptionalLong.empty());
    assertThat(secrets().state()).isEqualTo(TypeStatus.SyncState.STALE);
    registry.ackReceived(sds, TypeUrls.SECRET, "set1", "n1");
    ResourceStatus r = secrets().resources().get("default");
    assertThat(r.state()).isEqualTo(ResourceStatus.State.ACKED);
    assertThat(r.ackedVersion()).isEqualTo("v1");
    assertThat(r.ackedCertificate().orElseThrow().serialHex()).isEqualTo("a1");
    assertThat(r.config()).as("a secret's body is never kept").isEmpty();
    assertThat(secrets().state()).isEqualTo(TypeStatus.SyncState.SYNCED);
  }

  @Test
  void unknownNamesThatAreAlreadyRequested_publishNoNewSnapshot() {
    registry.streamOpened(sds);
    Set<String> names = new java.util.TreeSet<>();
    for (int i = 0; i < 10_000; i++) {
      names.add("spiffe://example.org/unknown/" + i);
    }
    registry.subscriptionChanged(sds, TypeUrls.SECRET, names, false);
    var before = registry.streams().get(0);

    // The engine reports each unknown name of the request; none changes what /status shows.
    names.forEach(n -> registry.unknownResource(sds, TypeUrls.SECRET, n));

    assertThat(registry.streams().get(0)).isSameAs(before);
    assertThat(secrets().resources()).hasSize(10_000)
        .allSatisfy((name, r) -> assertThat(r.state()).isEqualTo(ResourceStatus.State.REQUESTED));
  }

  @Test
  void nack_marksTheRejectedVersion_theClientKeepsTheAckedOne() {
    registry.streamOpened(sds);
    registry.subscriptionChanged(sds, TypeUrls.SECRET, Set.of("default"), false);
    registry.responseSent(sds, TypeUrls.SECRET, "set1", "n1", List.of(secret("default", "v1", "a1")), List.of(),
        OptionalLong.empty());
    registry.ackReceived(sds, TypeUrls.SECRET, "set1", "n1");
    registry.responseSent(sds, TypeUrls.SECRET, "set2", "n2", List.of(secret("default", "v2", "a2")), List.of(),
        OptionalLong.empty());
    registry.nackReceived(sds, TypeUrls.SECRET, "set1", "n2", "bad key");
    ResourceStatus r = secrets().resources().get("default");
    assertThat(r.state()).isEqualTo(ResourceStatus.State.NACKED);
    assertThat(r.ackedVersion()).isEqualTo("v1");
    assertThat(r.sentVersion()).isEqualTo("v2");
    assertThat(r.nack().orElseThrow().error()).isEqualTo("bad key");
    assertThat(secrets().state()).isEqualTo(TypeStatus.SyncState.NACKED);
    assertThat(secrets().lastNack().orElseThrow().rejectedVersion()).isEqualTo("set2");
  }

  @Test
  void anAckOfTheNewestNonce_coversEarlierUnansweredResponses() {
    registry.streamOpened(sds);
    registry.subscriptionChanged(sds, TypeUrls.SECRET, Set.of("default", "ROOTCA"), false);
    registry.responseSent(sds, TypeUrls.SECRET, "s1", "n1", List.of(secret("default", "v1", "a1")), List.of(),
        OptionalLong.empty());
    registry.responseSent(sds, TypeUrls.SECRET, "s2", "n2", List.of(secret("ROOTCA", "b1", "x")), List.of(),
        OptionalLong.empty());
    registry.ackReceived(sds, TypeUrls.SECRET, "s2", "n2");
    assertThat(secrets().resources().values()).extracting(ResourceStatus::state)
        .containsOnly(ResourceStatus.State.ACKED);
  }

  @Test
  void fullStateTypes_forgetWhatAResponseLeavesOut_unsubscribedNamesAreForgotten() {
    StreamInfo ads = new StreamInfo(2, StreamInfo.Kind.ADS_SOTW, new Caller.PodLocal("uid=101"));
    registry.streamOpened(ads);
    Resource l1 = new Resource("in", "1", Any.pack(StringValue.of("listener")), Optional.empty());
    Resource l2 = new Resource("out", "1", Any.pack(StringValue.of("listener")), Optional.empty());
    registry.subscriptionChanged(ads, TypeUrls.LISTENER, Set.of(), true);
    registry.responseSent(ads, TypeUrls.LISTENER, "a", "n1", List.of(l1, l2), List.of(), OptionalLong.empty());
    registry.responseSent(ads, TypeUrls.LISTENER, "b", "n2", List.of(l1), List.of(), OptionalLong.empty());
    TypeStatus listeners = registry.streams().get(0).types().get(TypeUrls.LISTENER);
    assertThat(listeners.resources().keySet()).containsExactly("in");
    assertThat(listeners.resources().get("in").config()).as("listeners keep their body for CSDS").isPresent();

    registry.subscriptionChanged(ads, TypeUrls.SECRET, Set.of("a", "b"), false);
    registry.subscriptionChanged(ads, TypeUrls.SECRET, Set.of("a"), false);
    assertThat(registry.streams().get(0).types().get(TypeUrls.SECRET).resources().keySet()).containsExactly("a");
  }

  @Test
  void closedStreams_disappear() {
    registry.streamOpened(sds);
    registry.streamClosed(sds);
    assertThat(registry.streams()).isEmpty();
  }
}
