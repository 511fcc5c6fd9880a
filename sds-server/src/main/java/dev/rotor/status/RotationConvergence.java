package dev.rotor.status;

import static java.util.Objects.requireNonNull;

import dev.rotor.protocol.TypeView;
import dev.rotor.protocol.XdsState;
import dev.rotor.text.EchoedText;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Measures rotation convergence: how long it takes from a new identity until every connected
 * stream that holds a secret it changed has ACKed the new version.
 *
 * <p><b>Definition.</b> Just before a state is published (so no stream can have seen it yet),
 * every open stream is compared with it: for each secret the stream subscribes to by name, or
 * receives by wildcard, whose version in the new state differs from the version last sent to that
 * stream, the stream owes an ACK of the new version. The streams that owe something form the
 * rotation's wait set; a state that changes no stream's secrets (a policy change, or an identity
 * change with nobody connected) starts no rotation. The rotation <em>converges</em> at the moment
 * the last stream in the wait set has ACKed every new version it owed; the convergence time, from
 * the identity change (the state's {@link XdsState#changedAtNanos()}) to that moment, is observed
 * once into the histogram. A secret that first appears for a stream (it subscribed before the first
 * identity arrived) counts like a changed one.
 *
 * <p><b>Edge cases.</b> A stream that closes while owing an ACK leaves the wait set (it gets the
 * newest identity when it reconnects, as a new stream); if every stream leaves without one ACK,
 * the rotation ends {@code abandoned} and nothing is observed. A NACK of a new version ends the
 * rotation {@code nacked} with no observation: Rotor does not re-send a rejected version (rule 7),
 * so it would never converge; the NACK itself is counted, logged and shown in {@code /status}. A
 * newer rotation that starts while one is pending ends the older one {@code superseded}; the
 * streams still owing carry over, since their versions differ from the newer state too. A stream
 * that opens during a rotation is not in its wait set: its first response already carries the new
 * identity.
 *
 * <p>Threads: {@link #beforePublish} runs on the publisher's thread, the observer calls on stream
 * executors; both take this object's monitor, which guards {@link #pending}.
 */
public final class RotationConvergence implements StreamRegistry.Observer {

  private static final Logger log = LoggerFactory.getLogger(RotationConvergence.class);

  /** Where outcomes go (metrics). */
  public interface Recorder {
    /** A rotation converged after {@code seconds}. */
    void converged(double seconds);

    /** A rotation ended; outcome is converged, nacked, abandoned or superseded. */
    void ended(String outcome);
  }

  private final Supplier<List<StreamStatus>> streams;
  private final LongSupplier nanoTime;
  private final Recorder recorder;

  // Guarded by this.
  private Rotation pending;
  private long rotations;

  private static final class Rotation {
    final long number;
    final long generation;
    final long startNanos;
    /** stream id → secret name → the version it must ACK. */
    final Map<Long, Map<String, String>> waiting;
    final int streams;
    int ackedStreams;

    Rotation(long number, long generation, long startNanos, Map<Long, Map<String, String>> waiting) {
      this.number = number;
      this.generation = generation;
      this.startNanos = startNanos;
      this.waiting = waiting;
      this.streams = waiting.size();
    }
  }

  /**
   * @param streams the open streams as of now ({@link StreamRegistry#streams()})
   * @param nanoTime the clock {@link XdsState#changedAtNanos()} is read from ({@link System#nanoTime()})
   */
  public RotationConvergence(Supplier<List<StreamStatus>> streams, LongSupplier nanoTime, Recorder recorder) {
    this.streams = requireNonNull(streams, "streams");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.recorder = requireNonNull(recorder, "recorder");
  }

  /** Call with each state just before it is published. */
  public synchronized void beforePublish(XdsState next) {
    Map<Long, Map<String, String>> wait = new HashMap<>();
    for (StreamStatus s : streams.get()) {
      TypeStatus secrets = s.types().get(TypeUrls.SECRET);
      if (secrets == null) {
        continue;
      }
      TypeView view = next.view(TypeUrls.SECRET, s.node(), s.caller());
      TreeSet<String> names = new TreeSet<>(secrets.subscribed());
      names.addAll(secrets.resources().keySet());
      if (secrets.wildcard()) {
        view.wildcard().forEach(r -> names.add(r.name()));
      }
      Map<String, String> owed = new TreeMap<>();
      for (String name : names) {
        Optional<Resource> r = view.get(name);
        ResourceStatus held = secrets.resources().get(name);
        String sent = held == null ? "" : held.sentVersion();
        if (r.isPresent() && !r.get().version().equals(sent)) {
          owed.put(name, r.get().version());
        }
      }
      if (!owed.isEmpty()) {
        wait.put(s.id(), owed);
      }
    }
    if (wait.isEmpty()) {
      return;
    }
    if (pending != null) {
      if (covered(pending.waiting, wait)) {
        return; // nothing new for anyone (e.g. a policy change during a rotation)
      }
      end(pending, "superseded");
    }
    pending = new Rotation(++rotations, next.generation(), next.changedAtNanos(), wait);
    log.atDebug().addKeyValue("rotation", pending.number).addKeyValue("generation", next.generation())
        .addKeyValue("streams", wait.size()).log("rotation started; waiting for ACKs");
  }

  @Override
  public synchronized void acked(StreamStatus stream, String typeUrl) {
    if (pending == null || !TypeUrls.SECRET.equals(typeUrl)) {
      return;
    }
    Map<String, String> owed = pending.waiting.get(stream.id());
    TypeStatus secrets = stream.types().get(TypeUrls.SECRET);
    if (owed == null || secrets == null) {
      return;
    }
    owed.entrySet().removeIf(e -> {
      ResourceStatus r = secrets.resources().get(e.getKey());
      return r != null && r.ackedVersion().equals(e.getValue());
    });
    if (owed.isEmpty()) {
      pending.waiting.remove(stream.id());
      pending.ackedStreams++;
      maybeConverged();
    }
  }

  @Override
  public synchronized void nacked(StreamStatus stream, String typeUrl, List<String> names, String error) {
    if (pending == null || !TypeUrls.SECRET.equals(typeUrl)) {
      return;
    }
    Map<String, String> owed = pending.waiting.get(stream.id());
    if (owed == null || names.stream().noneMatch(owed::containsKey)) {
      return;
    }
    log.atWarn().addKeyValue("rotation", pending.number).addKeyValue("stream", stream.id())
        .addKeyValue("node", EchoedText.clip(stream.nodeId(), 200)).addKeyValue("secrets", names)
        .addKeyValue("error", error)
        .log("rotation will not converge: a stream NACKed the new identity");
    end(pending, "nacked");
  }

  @Override
  public synchronized void closed(long streamId) {
    if (pending != null && pending.waiting.remove(streamId) != null) {
      maybeConverged();
    }
  }

  private void maybeConverged() {
    if (!pending.waiting.isEmpty()) {
      return;
    }
    if (pending.ackedStreams == 0) {
      end(pending, "abandoned");
      return;
    }
    double seconds = Math.max(0, nanoTime.getAsLong() - pending.startNanos) / 1e9;
    recorder.converged(seconds);
    log.atInfo().addKeyValue("rotation", pending.number).addKeyValue("generation", pending.generation)
        .addKeyValue("streams", pending.ackedStreams).addKeyValue("seconds", seconds)
        .log("rotation converged: every stream ACKed the new identity");
    end(pending, "converged");
  }

  private void end(Rotation r, String outcome) {
    recorder.ended(outcome);
    if (pending == r) {
      pending = null;
    }
  }

  /** True when every (stream, name, version) in {@code next} is already owed in {@code current}. */
  private static boolean covered(Map<Long, Map<String, String>> current, Map<Long, Map<String, String>> next) {
    for (Map.Entry<Long, Map<String, String>> e : next.entrySet()) {
      Map<String, String> have = current.get(e.getKey());
      if (have == null) {
        return false;
      }
      for (Map.Entry<String, String> n : e.getValue().entrySet()) {
        if (!n.getValue().equals(have.get(n.getKey()))) {
          return false;
        }
      }
    }
    return true;
  }

  /** Streams the pending rotation still waits for (0 when none is pending). */
  public synchronized int waitingStreams() {
    return pending == null ? 0 : pending.waiting.size();
  }
}
