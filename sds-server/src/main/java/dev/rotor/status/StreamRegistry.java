package dev.rotor.status;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Any;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.xds.CertificateInfo;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What every open xDS stream was sent and what it ACKed or NACKed, per type and per resource: the
 * source of {@code /status}, CSDS, the stream gauges and rotation convergence.
 *
 * <p>The engine reports per response (with its nonce) and per ACK/NACK (by nonce); this registry
 * remembers each sub-stream's responses awaiting an answer, so an ACK tells it which resource
 * versions the client now runs. The engine ignores ACKs with a stale nonce (xds-protocol rule 3),
 * so an ACK is taken to cover the unanswered responses before it on the same sub-stream; a SotW
 * NACK's version_info names the last version the client accepted, which settles those.
 *
 * <p>Threads: each stream's mutable record is touched only from that stream's serialized executor
 * (every listener call comes from there); after each change an immutable {@link StreamStatus} is
 * published through a volatile field, which readers on any thread use.
 */
public final class StreamRegistry implements XdsEventListener {

  /** How many unanswered responses a sub-stream remembers; Envoy answers each one, in order. */
  static final int MAX_IN_FLIGHT = 32;

  /** Told about ACKs, NACKs and closes after the stream's status was published. */
  public interface Observer {
    default void acked(StreamStatus stream, String typeUrl) {}

    default void nacked(StreamStatus stream, String typeUrl, List<String> names, String error) {}

    default void closed(long streamId) {}
  }

  private final Clock clock;
  private final Observer observer;
  private final ConcurrentHashMap<Long, Tracked> streams = new ConcurrentHashMap<>();

  public StreamRegistry(Clock clock, Observer observer) {
    this.clock = requireNonNull(clock, "clock");
    this.observer = requireNonNull(observer, "observer");
  }

  public StreamRegistry(Clock clock) {
    this(clock, new Observer() {});
  }

  /** Every open stream as of now, by id. */
  public List<StreamStatus> streams() {
    List<StreamStatus> out = new ArrayList<>(streams.size());
    for (Tracked t : streams.values()) {
      out.add(t.published);
    }
    out.sort(Comparator.comparingLong(StreamStatus::id));
    return out;
  }

  // ---- engine events (each on the stream's own executor) ----

  @Override
  public void streamOpened(StreamInfo s) {
    Tracked t = new Tracked(s, clock.instant());
    streams.put(s.id(), t);
    t.publish();
  }

  @Override
  public void streamClosed(StreamInfo s) {
    streams.remove(s.id());
    observer.closed(s.id());
  }

  @Override
  public void subscriptionChanged(StreamInfo s, String typeUrl, Set<String> names, boolean wildcard) {
    Tracked t = streams.get(s.id());
    if (t == null) {
      return;
    }
    Instant now = clock.instant();
    TypeTrack tt = t.type(typeUrl);
    tt.subscribed = Set.copyOf(names);
    tt.wildcard = wildcard;
    if (!wildcard) {
      tt.resources.keySet().retainAll(names);
    }
    for (String n : names) {
      tt.resources.computeIfAbsent(n, k -> new Res(k, now));
    }
    t.publish();
  }

  @Override
  public void responseSent(StreamInfo s, String typeUrl, String version, String nonce, List<Resource> resources,
      List<String> removed, OptionalLong latencyNanos) {
    Tracked t = streams.get(s.id());
    if (t == null) {
      return;
    }
    Instant now = clock.instant();
    TypeTrack tt = t.type(typeUrl);
    boolean secret = TypeUrls.SECRET.equals(typeUrl);
    List<Sent> sent = new ArrayList<>(resources.size());
    for (Resource r : resources) {
      // Never keep a secret's body: it holds the private key.
      Sent x = new Sent(r.name(), r.version(), r.certificate(), secret ? Optional.empty() : Optional.of(r.body()));
      sent.add(x);
      Res res = tt.resources.computeIfAbsent(r.name(), k -> new Res(k, now));
      res.sentVersion = x.version();
      res.sentConfig = x.config();
      res.state = ResourceStatus.State.SENT;
      res.nack = null;
      res.updatedAt = now;
    }
    if (!s.kind().delta() && isFullState(typeUrl)) {
      // Rule 13: a full-state response lists everything; what it leaves out is deleted.
      Set<String> names = new HashSet<>();
      sent.forEach(x -> names.add(x.name()));
      tt.resources.entrySet().removeIf(e -> !names.contains(e.getKey()) && !tt.subscribed.contains(e.getKey()));
      tt.resources.values().forEach(r -> {
        if (!names.contains(r.name)) {
          r.requested(now); // subscribed by name but absent from the full state: it does not exist
        }
      });
    }
    for (String name : removed) {
      Res res = tt.resources.get(name);
      if (res != null && tt.subscribed.contains(name)) {
        res.requested(now);
      } else {
        tt.resources.remove(name);
      }
    }
    tt.lastSent = new TypeStatus.Event(version, nonce, now);
    tt.inFlight.addLast(new InFlight(nonce, version, List.copyOf(sent)));
    while (tt.inFlight.size() > MAX_IN_FLIGHT) {
      tt.inFlight.removeFirst();
    }
    t.publish();
  }

  @Override
  public void ackReceived(StreamInfo s, String typeUrl, String version, String nonce) {
    Tracked t = streams.get(s.id());
    if (t == null) {
      return;
    }
    Instant now = clock.instant();
    TypeTrack tt = t.type(typeUrl);
    InFlight answered = settleThrough(tt, nonce, now);
    tt.lastAck = new TypeStatus.Event(answered != null ? answered.version() : version, nonce, now);
    StreamStatus published = t.publish();
    observer.acked(published, typeUrl);
  }

  @Override
  public void nackReceived(StreamInfo s, String typeUrl, String version, String nonce, String errorDetail) {
    Tracked t = streams.get(s.id());
    if (t == null) {
      return;
    }
    Instant now = clock.instant();
    TypeTrack tt = t.type(typeUrl);
    String error = errorDetail.length() > 2000 ? errorDetail.substring(0, 2000) + "..." : errorDetail;
    InFlight rejected = null;
    for (InFlight f : tt.inFlight) {
      if (f.nonce().equals(nonce)) {
        rejected = f;
        break;
      }
    }
    List<String> names = new ArrayList<>();
    TypeStatus.Nack nack = new TypeStatus.Nack(rejected == null ? "" : rejected.version(), nonce, error, now);
    if (rejected != null) {
      // A SotW NACK's version_info is the last version the client accepted: settle what it names.
      if (!version.isEmpty()) {
        for (InFlight f : tt.inFlight) {
          if (f == rejected) {
            break;
          }
          if (f.version().equals(version)) {
            settleThrough(tt, f.nonce(), now);
            break;
          }
        }
      }
      for (Sent x : rejected.resources()) {
        names.add(x.name());
        Res res = tt.resources.get(x.name());
        if (res != null && x.version().equals(res.sentVersion)) {
          res.state = ResourceStatus.State.NACKED;
          res.nack = new TypeStatus.Nack(x.version(), nonce, error, now);
          res.updatedAt = now;
        }
      }
      Iterator<InFlight> it = tt.inFlight.iterator();
      while (it.hasNext()) {
        InFlight f = it.next();
        it.remove();
        if (f == rejected) {
          break;
        }
      }
    }
    tt.lastNack = nack;
    StreamStatus published = t.publish();
    observer.nacked(published, typeUrl, List.copyOf(names), error);
  }

  @Override
  public void unknownResource(StreamInfo s, String typeUrl, String name) {
    Tracked t = streams.get(s.id());
    if (t == null) {
      return;
    }
    // Publish only a change: the engine reports every unknown name of a request, and a new
    // snapshot of the whole stream per name made a request for 10,000 names cost 10,000 snapshots.
    Map<String, Res> resources = t.type(typeUrl).resources;
    Res res = resources.get(name);
    boolean changed = res == null;
    if (res == null) {
      res = new Res(name, clock.instant());
      resources.put(name, res);
    }
    if (res.sentVersion.isEmpty() && res.state != ResourceStatus.State.REQUESTED) {
      res.state = ResourceStatus.State.REQUESTED;
      changed = true;
    }
    if (changed) {
      t.publish();
    }
  }

  /** Applies the response with {@code nonce} and every unanswered one before it as ACKed. */
  private static InFlight settleThrough(TypeTrack tt, String nonce, Instant now) {
    boolean known = tt.inFlight.stream().anyMatch(f -> f.nonce().equals(nonce));
    if (!known) {
      return null;
    }
    while (!tt.inFlight.isEmpty()) {
      InFlight f = tt.inFlight.removeFirst();
      for (Sent x : f.resources()) {
        Res res = tt.resources.get(x.name());
        if (res == null) {
          continue; // unsubscribed or deleted since
        }
        res.ackedVersion = x.version();
        res.ackedCertificate = x.certificate();
        res.ackedConfig = x.config();
        if (x.version().equals(res.sentVersion)) {
          res.state = ResourceStatus.State.ACKED;
          res.nack = null;
        }
        res.updatedAt = now;
      }
      if (f.nonce().equals(nonce)) {
        return f;
      }
    }
    return null;
  }

  private static boolean isFullState(String typeUrl) {
    return TypeUrls.LISTENER.equals(typeUrl) || TypeUrls.CLUSTER.equals(typeUrl);
  }

  // ---- the mutable records, confined to their stream's executor ----

  private record Sent(String name, String version, Optional<CertificateInfo> certificate, Optional<Any> config) {}

  private record InFlight(String nonce, String version, List<Sent> resources) {}

  private static final class Res {
    final String name;
    ResourceStatus.State state = ResourceStatus.State.REQUESTED;
    String sentVersion = "";
    String ackedVersion = "";
    Optional<CertificateInfo> ackedCertificate = Optional.empty();
    Optional<Any> sentConfig = Optional.empty();
    Optional<Any> ackedConfig = Optional.empty();
    TypeStatus.Nack nack;
    Instant updatedAt;

    Res(String name, Instant now) {
      this.name = name;
      this.updatedAt = now;
    }

    void requested(Instant now) {
      state = ResourceStatus.State.REQUESTED;
      sentVersion = "";
      ackedVersion = "";
      ackedCertificate = Optional.empty();
      sentConfig = Optional.empty();
      ackedConfig = Optional.empty();
      nack = null;
      updatedAt = now;
    }

    ResourceStatus snapshot() {
      Optional<Any> config = ackedConfig.isPresent() ? ackedConfig : sentConfig;
      return new ResourceStatus(name, state, sentVersion, ackedVersion, ackedCertificate, config,
          Optional.ofNullable(nack), updatedAt);
    }
  }

  private static final class TypeTrack {
    final String typeUrl;
    Set<String> subscribed = Set.of();
    boolean wildcard;
    final Map<String, Res> resources = new TreeMap<>();
    final Deque<InFlight> inFlight = new ArrayDeque<>();
    TypeStatus.Event lastSent;
    TypeStatus.Event lastAck;
    TypeStatus.Nack lastNack;

    TypeTrack(String typeUrl) {
      this.typeUrl = typeUrl;
    }

    TypeStatus snapshot() {
      TreeMap<String, ResourceStatus> r = new TreeMap<>();
      resources.forEach((k, v) -> r.put(k, v.snapshot()));
      return new TypeStatus(typeUrl, subscribed, wildcard, Optional.ofNullable(lastSent), Optional.ofNullable(lastAck),
          Optional.ofNullable(lastNack), r);
    }
  }

  private static final class Tracked {
    final StreamInfo info;
    final Instant openedAt;
    final Map<String, TypeTrack> types = new TreeMap<>(TypeUrls.BY_PUSH_ORDER);
    volatile StreamStatus published;

    Tracked(StreamInfo info, Instant openedAt) {
      this.info = info;
      this.openedAt = openedAt;
    }

    TypeTrack type(String typeUrl) {
      return types.computeIfAbsent(typeUrl, TypeTrack::new);
    }

    StreamStatus publish() {
      Map<String, TypeStatus> t = new LinkedHashMap<>();
      types.forEach((k, v) -> t.put(k, v.snapshot()));
      StreamStatus s = new StreamStatus(info.id(), info.kind(), info.caller(), info.node(), openedAt, t);
      published = s;
      return s;
    }
  }
}
