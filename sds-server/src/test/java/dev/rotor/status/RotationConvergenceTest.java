package dev.rotor.status;

import dev.rotor.protocol.Caller;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.StringValue;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.TypeView;
import dev.rotor.protocol.XdsState;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Rotation convergence, driven by engine events as the protocol engine reports them: a rotation
 * converges when the last stream that holds a changed secret ACKs its new version.
 */
class RotationConvergenceTest {

  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final List<Double> observed = new ArrayList<>();
  private final List<String> outcomes = new ArrayList<>();
  private final RotationConvergence.Recorder recorder = new RotationConvergence.Recorder() {
    @Override
    public void converged(double seconds) {
      observed.add(seconds);
    }

    @Override
    public void ended(String outcome) {
      outcomes.add(outcome);
    }
  };
  private StreamRegistry registry;
  private final RotationConvergence convergence =
      new RotationConvergence(() -> registry.streams(), nanos::get, recorder);
  {
    registry = new StreamRegistry(Clock.fixed(Instant.parse("2030-01-01T00:00:00Z"), ZoneOffset.UTC), convergence);
  }
  private long generation;
  private int nonce;

  @Test
  void everyStreamAcksTheNewVersion_convergesOnce_atTheLastAck() {
    StreamInfo a = connected(1, "v1");
    StreamInfo b = connected(2, "v1");
    State v2 = publish("v2");
    nanos.addAndGet(300_000_000L);
    ack(a, send(a, v2));
    assertThat(observed).isEmpty();
    nanos.addAndGet(200_000_000L);
    ack(b, send(b, v2));
    assertThat(observed).containsExactly(0.5);
    assertThat(outcomes).containsExactly("converged");
  }

  @Test
  void aStateThatChangesNoSecret_startsNoRotation() {
    StreamInfo a = connected(1, "v1");
    publish("v1"); // e.g. a policy change
    assertThat(convergence.waitingStreams()).isZero();
    ack(a, send(a, publish("v2")));
    assertThat(outcomes).containsExactly("converged");
  }

  @Test
  void aNackOfTheNewVersion_endsTheRotationWithoutObservation() {
    StreamInfo a = connected(1, "v1");
    State v2 = publish("v2");
    String n = send(a, v2);
    registry.nackReceived(a, TypeUrls.SECRET, "", n, "bad certificate");
    assertThat(observed).isEmpty();
    assertThat(outcomes).containsExactly("nacked");
  }

  @Test
  void streamsThatLeave_leaveTheWaitSet_allLeaving_isAbandoned() {
    StreamInfo a = connected(1, "v1");
    StreamInfo b = connected(2, "v1");
    State v2 = publish("v2");
    ack(a, send(a, v2));
    registry.streamClosed(b);
    assertThat(outcomes).containsExactly("converged");

    StreamInfo c = connected(3, "v2");
    publish("v3");
    registry.streamClosed(a);
    registry.streamClosed(c);
    assertThat(outcomes).containsExactly("converged", "abandoned");
    assertThat(observed).hasSize(1);
  }

  @Test
  void aNewerIdentityBeforeConvergence_supersedesTheOlderRotation() {
    StreamInfo a = connected(1, "v1");
    State v2 = publish("v2");
    send(a, v2); // sent, not ACKed yet
    State v3 = publish("v3");
    assertThat(outcomes).containsExactly("superseded");
    nanos.addAndGet(1_000_000_000L);
    ack(a, send(a, v3));
    assertThat(outcomes).containsExactly("superseded", "converged");
    assertThat(observed).containsExactly(1.0);
  }

  @Test
  void aStreamOpenedDuringTheRotation_isNotWaitedFor() {
    StreamInfo a = connected(1, "v1");
    State v2 = publish("v2");
    StreamInfo late = open(9);
    send(late, v2); // its first response already carries v2; it never ACKs
    ack(a, send(a, v2));
    assertThat(outcomes).containsExactly("converged");
  }

  // ---- helpers ----

  /** A stream subscribed to "default" that ACKed {@code version}. */
  private StreamInfo connected(long id, String version) {
    StreamInfo s = open(id);
    ack(s, send(s, new State(++generation, nanos.get(), version)));
    return s;
  }

  private StreamInfo open(long id) {
    StreamInfo s = new StreamInfo(id, StreamInfo.Kind.SDS_SOTW, new Caller.PodLocal("uid=1"));
    registry.streamOpened(s);
    registry.subscriptionChanged(s, TypeUrls.SECRET, Set.of("default"), false);
    return s;
  }

  private State publish(String version) {
    State st = new State(++generation, nanos.get(), version);
    convergence.beforePublish(st);
    return st;
  }

  private String send(StreamInfo s, State st) {
    String n = "n" + (++nonce);
    registry.responseSent(s, TypeUrls.SECRET, st.version, n, List.of(st.secret()), List.of(), OptionalLong.empty());
    return n;
  }

  private void ack(StreamInfo s, String n) {
    registry.ackReceived(s, TypeUrls.SECRET, "", n);
  }

  /** A state whose one secret, "default", has {@code version}. */
  private static final class State implements XdsState {
    final long generation;
    final long changedAt;
    final String version;

    State(long generation, long changedAt, String version) {
      this.generation = generation;
      this.changedAt = changedAt;
      this.version = version;
    }

    Resource secret() {
      return new Resource("default", version, Any.pack(StringValue.of("not a real secret")), Optional.empty());
    }

    @Override
    public long generation() {
      return generation;
    }

    @Override
    public long changedAtNanos() {
      return changedAt;
    }

    @Override
    public Set<String> typeUrls() {
      return Set.of(TypeUrls.SECRET);
    }

    @Override
    public TypeView view(String typeUrl, Node node, Caller caller) {
      Map<String, Resource> byName = Map.of("default", secret());
      return new TypeView() {
        @Override
        public Optional<Resource> get(String name) {
          return Optional.ofNullable(byName.get(name));
        }

        @Override
        public List<Resource> wildcard() {
          return List.copyOf(byName.values());
        }

        @Override
        public boolean fullState() {
          return false;
        }
      };
    }
  }
}
