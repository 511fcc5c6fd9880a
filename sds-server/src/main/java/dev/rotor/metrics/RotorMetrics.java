package dev.rotor.metrics;

import static java.util.Objects.requireNonNull;

import dev.rotor.gate.GateStatus;
import dev.rotor.gate.RefusalReason;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.protocol.Caller;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.source.IdentityListener;
import dev.rotor.status.RotationConvergence;
import dev.rotor.status.StreamStatus;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Rotor's Prometheus metrics, on a registry of its own (not the library's global default, so two
 * runtimes in one JVM, as in tests, never share counters). Counters that events drive are fed as
 * an {@link XdsEventListener} and a {@link RotationConvergence.Recorder}; everything that is a
 * state (streams, refusals, expiry, policy and file-writer counts) is read at scrape time from its
 * owner through callbacks, so there is one source of truth for each number.
 *
 * <p>Labels are bounded: {@code type} is one of five xDS types, {@code kind} one of eight stream
 * kinds, {@code reason} one of the gate's refusal reasons, {@code spiffe_id} one per served SVID.
 * Node ids are never labels (hundreds of Envoys would mean unbounded series); {@code /status} and
 * CSDS have them.
 */
public final class RotorMetrics implements XdsEventListener, RotationConvergence.Recorder {

  /** Where the callback metrics read their numbers. */
  public record Sources(
      Supplier<GateStatus> gate,
      Supplier<List<StreamStatus>> streams,
      LongSupplier policyReloads,
      LongSupplier policyRejections,
      Supplier<FileWriterCounters> fileWriter,
      Supplier<Boolean> ready,
      Clock clock,
      String version) {
    public Sources {
      requireNonNull(gate, "gate");
      requireNonNull(streams, "streams");
      requireNonNull(policyReloads, "policyReloads");
      requireNonNull(policyRejections, "policyRejections");
      requireNonNull(fileWriter, "fileWriter");
      requireNonNull(ready, "ready");
      requireNonNull(clock, "clock");
      requireNonNull(version, "version");
    }
  }

  private static final List<String> TYPES = TypeUrls.PUSH_ORDER.stream().map(TypeUrls::shortName).toList();

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

  private final Counter responses;
  private final Counter acks;
  private final Counter nacks;
  private final Counter identityUpdates;
  private final Counter rotations;
  private final Counter tcpRefusals;
  private final Histogram pushLatency;
  private final Histogram convergence;

  public RotorMetrics(Sources sources) {
    requireNonNull(sources, "sources");
    responses = Counter.builder().name("rotor_xds_responses_total")
        .help("xDS responses sent, by resource type").labelNames("type").register(registry);
    acks = Counter.builder().name("rotor_xds_acks_total")
        .help("xDS ACKs received, by resource type").labelNames("type").register(registry);
    nacks = Counter.builder().name("rotor_xds_nacks_total")
        .help("xDS NACKs received (the client rejected a response), by resource type").labelNames("type")
        .register(registry);
    for (String t : TYPES) {
      responses.initLabelValues(t);
      acks.initLabelValues(t);
      nacks.initLabelValues(t);
    }
    pushLatency = Histogram.builder().name("rotor_push_latency_seconds")
        .help("Time from an identity or policy change to the response that carries it, by resource type")
        .labelNames("type")
        .classicOnly()
        .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
        .register(registry);
    for (String t : TYPES) {
      pushLatency.initLabelValues(t);
    }
    convergence = Histogram.builder().name("rotor_rotation_convergence_seconds")
        .help("Time from a new identity until every connected stream that holds a secret it changed has ACKed"
            + " the new version (see docs: rotation convergence)")
        .classicOnly()
        .classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
        .register(registry);
    rotations = Counter.builder().name("rotor_rotations_total")
        .help("Identity rotations that ended, by outcome: converged, nacked, abandoned (every waiting stream"
            + " disconnected), superseded (a newer identity came first)")
        .labelNames("outcome").register(registry);
    for (String o : List.of("converged", "nacked", "abandoned", "superseded")) {
      rotations.initLabelValues(o);
    }
    tcpRefusals = Counter.builder().name("rotor_tcp_refusals_total")
        .help("TCP (mutual TLS) callers refused after the handshake, by reason: node_id (node.id names a workload"
            + " the caller's SPIFFE ID does not belong to), credentials_lapsed (a call refused or an open stream"
            + " ended because the client certificate expired or its CA left the trust bundle)")
        .labelNames("reason").register(registry);
    for (String r : List.of(Caller.REFUSED_NODE_ID, Caller.REFUSED_CREDENTIALS_LAPSED)) {
      tcpRefusals.initLabelValues(r);
    }
    identityUpdates = Counter.builder().name("rotor_identity_updates_total")
        .help("Identity snapshots received from the identity source (before the gate)").register(registry);

    GaugeWithCallback.builder().name("rotor_xds_streams")
        .help("Open xDS streams, by stream kind (service and variant)").labelNames("kind")
        .callback(cb -> {
          Map<StreamInfo.Kind, Integer> byKind = new EnumMap<>(StreamInfo.Kind.class);
          for (StreamInfo.Kind k : StreamInfo.Kind.values()) {
            byKind.put(k, 0);
          }
          for (StreamStatus s : sources.streams().get()) {
            byKind.merge(s.kind(), 1, Integer::sum);
          }
          byKind.forEach((k, n) -> cb.call(n, k.name().toLowerCase(Locale.ROOT)));
        })
        .register(registry);
    GaugeWithCallback.builder().name("rotor_xds_subscribed_streams")
        .help("Open xDS streams subscribed to a resource type, by type").labelNames("type")
        .callback(cb -> {
          Map<String, Integer> byType = new TreeMap<>();
          TYPES.forEach(t -> byType.put(t, 0));
          for (StreamStatus s : sources.streams().get()) {
            s.types().keySet().forEach(t -> byType.merge(TypeUrls.shortName(t), 1, Integer::sum));
          }
          byType.forEach((t, n) -> cb.call(n, t));
        })
        .register(registry);
    CounterWithCallback.builder().name("rotor_identity_refusals_total")
        .help("Identity snapshots the gate refused, by reason (the last good identity stays in force)")
        .labelNames("reason")
        .callback(cb -> {
          for (Map.Entry<RefusalReason, Long> e : sources.gate().get().refusals().entrySet()) {
            cb.call(e.getValue(), e.getKey().name().toLowerCase(Locale.ROOT));
          }
        })
        .register(registry);
    CounterWithCallback.builder().name("rotor_identity_source_errors_total")
        .help("Errors the identity source reported (SPIRE agent unreachable, malformed response, ...)")
        .callback(cb -> cb.call(sources.gate().get().sourceErrors()))
        .register(registry);
    GaugeWithCallback.builder().name("rotor_svid_expiry_seconds")
        .help("Seconds until each served X.509-SVID expires (negative once expired); absent before the first identity")
        .labelNames("spiffe_id")
        .callback(cb -> {
          Optional<IdentitySnapshot> served = sources.gate().get().current();
          if (served.isEmpty()) {
            return;
          }
          long now = sources.clock().millis();
          Map<String, Double> earliest = new TreeMap<>();
          for (Svid s : served.get().svids()) {
            double left = (s.notAfter().toEpochMilli() - now) / 1000.0;
            earliest.merge(s.spiffeId().toString(), left, Math::min);
          }
          earliest.forEach((id, left) -> cb.call(left, id));
        })
        .register(registry);
    GaugeWithCallback.builder().name("rotor_identity_healthy")
        .help("1 while the gate serves a valid identity, else 0")
        .callback(cb -> cb.call(sources.gate().get().healthy() ? 1 : 0))
        .register(registry);
    GaugeWithCallback.builder().name("rotor_ready")
        .help("1 while /readyz reports ready, else 0")
        .callback(cb -> cb.call(Boolean.TRUE.equals(sources.ready().get()) ? 1 : 0))
        .register(registry);
    CounterWithCallback.builder().name("rotor_policy_reloads_total")
        .help("New policy versions put in force after start-up")
        .callback(cb -> cb.call(sources.policyReloads().getAsLong()))
        .register(registry);
    CounterWithCallback.builder().name("rotor_policy_rejections_total")
        .help("Policy versions rejected (invalid, unreadable or untranslatable); the last good one stays in force")
        .callback(cb -> cb.call(sources.policyRejections().getAsLong()))
        .register(registry);
    CounterWithCallback.builder().name("rotor_file_writes_total")
        .help("Atomic writes of certificate, key and bundle files by the file writer")
        .callback(cb -> cb.call(sources.fileWriter().get().writes()))
        .register(registry);
    CounterWithCallback.builder().name("rotor_file_write_failures_total")
        .help("File writes that failed (the previous files stay in place)")
        .callback(cb -> cb.call(sources.fileWriter().get().failures()))
        .register(registry);
    CounterWithCallback.builder().name("rotor_file_signal_deliveries_total")
        .help("Reload signals or commands delivered to the program that reads the files")
        .callback(cb -> cb.call(sources.fileWriter().get().signalDeliveries()))
        .register(registry);
    Info buildInfo = Info.builder().name("rotor_build_info").help("Rotor's version").labelNames("version")
        .register(registry);
    buildInfo.addLabelValues(sources.version());
    JvmMetrics.builder().register(registry);
  }

  /**
   * Adds a counter family that its owner keeps, read at scrape time like the callbacks above: one
   * sample per entry of {@code counts}, labelled {@code label} = the entry's key. For the refusals
   * of the limits that protect Rotor (admin HTTP, Unix-socket connections, xDS streams), whose
   * owners start after the metrics.
   */
  public void registerCounter(String name, String help, String label, Supplier<Map<String, Long>> counts) {
    requireNonNull(counts, "counts");
    CounterWithCallback.builder().name(name).help(help).labelNames(label)
        .callback(cb -> counts.get().forEach((value, n) -> cb.call(n, value)))
        .register(registry);
  }

  /** {@code counts} keyed by the enum constants' names in lower case, the form of Rotor's label values. */
  public static <E extends Enum<E>> Map<String, Long> byLowerCaseName(Map<E, Long> counts) {
    Map<String, Long> out = new TreeMap<>();
    counts.forEach((k, v) -> out.put(k.name().toLowerCase(Locale.ROOT), v));
    return out;
  }

  /** Writes every metric in Prometheus text format (version 0.0.4). */
  public void writeText(OutputStream out) throws IOException {
    writer.write(out, registry.scrape());
  }

  public String contentType() {
    return writer.getContentType();
  }

  /** Wraps the identity source's listener so every snapshot it delivers is counted, then passed on. */
  public IdentityListener countingUpdates(IdentityListener next) {
    requireNonNull(next, "next");
    return new IdentityListener() {
      @Override
      public void onSnapshot(IdentitySnapshot snapshot) {
        identityUpdates.inc();
        next.onSnapshot(snapshot);
      }

      @Override
      public void onSourceError(String reason, Throwable cause) {
        next.onSourceError(reason, cause);
      }
    };
  }

  // ---- xDS events ----

  @Override
  public void responseSent(StreamInfo stream, String typeUrl, String version, String nonce, List<Resource> resources,
      List<String> removed, OptionalLong latencyNanos) {
    String type = TypeUrls.shortName(typeUrl);
    responses.labelValues(type).inc();
    if (latencyNanos.isPresent()) {
      pushLatency.labelValues(type).observe(Math.max(0, latencyNanos.getAsLong()) / 1e9);
    }
  }

  @Override
  public void ackReceived(StreamInfo stream, String typeUrl, String version, String nonce) {
    acks.labelValues(TypeUrls.shortName(typeUrl)).inc();
  }

  @Override
  public void nackReceived(StreamInfo stream, String typeUrl, String version, String nonce, String errorDetail) {
    nacks.labelValues(TypeUrls.shortName(typeUrl)).inc();
  }

  @Override
  public void callerRefused(Caller caller, String reason, String nodeId) {
    tcpRefused(reason);
  }

  /** Counts one refusal of a TCP caller; {@code reason} is one of {@link Caller}'s REFUSED_ constants. */
  public void tcpRefused(String reason) {
    tcpRefusals.labelValues(reason).inc();
  }

  // ---- rotation convergence ----

  @Override
  public void converged(double seconds) {
    convergence.observe(seconds);
  }

  @Override
  public void ended(String outcome) {
    rotations.labelValues(outcome).inc();
  }

  /** For tests: the number of observations in the convergence histogram. */
  long convergenceCount() {
    return convergence.getCount();
  }
}
