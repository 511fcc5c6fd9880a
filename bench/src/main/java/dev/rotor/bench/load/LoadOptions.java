package dev.rotor.bench.load;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What one load-client process does.
 *
 * @param socket the xDS server's Unix socket (Rotor, the SPIRE agent, or the java-control-plane peer)
 * @param mode SDS: one {@code StreamSecrets} stream per secret name, as Envoy opens them; ADS: one
 *     {@code StreamAggregatedResources} stream per Envoy, subscribed to clusters, listeners and secrets
 * @param streams how many streams in all
 * @param perConnection streams multiplexed on one HTTP/2 connection (one connection per Envoy-like node)
 * @param secretNames SDS: each stream subscribes to one of these, round-robin; ADS: all of them on the stream
 * @param nodeId ADS: the node id every stream sends; SDS: the prefix, followed by the connection index
 * @param updates clean updates to wait for (new versions first seen after every stream had its first
 *     response, delivered to every stream) before the client writes its log and exits
 * @param out the arrival log this process writes
 * @param timeout overall limit; the client writes what it has and exits with status 2 when it is reached
 * @param probeSocket a SPIRE agent Workload API socket to watch with one X.509-SVID stream, whose
 *     arrivals stamp the moment the agent's new SVID became available (the trigger for SPIRE-fed runs)
 * @param eventLoopThreads Netty event-loop threads of the client; responses are handled on them directly
 * @param hold how long to keep the streams open after the last update (idle streams, for memory figures)
 */
public record LoadOptions(
    Path socket,
    Mode mode,
    int streams,
    int perConnection,
    List<String> secretNames,
    String nodeId,
    int updates,
    Path out,
    Duration timeout,
    Optional<Path> probeSocket,
    int eventLoopThreads,
    Duration hold) {

  public enum Mode { SDS, ADS }

  public LoadOptions {
    requireNonNull(socket, "socket");
    requireNonNull(mode, "mode");
    secretNames = List.copyOf(secretNames);
    requireNonNull(nodeId, "nodeId");
    requireNonNull(out, "out");
    requireNonNull(timeout, "timeout");
    requireNonNull(probeSocket, "probeSocket");
    requireNonNull(hold, "hold");
    if (streams < 1) {
      throw new IllegalArgumentException("streams: " + streams + " (expected: >= 1)");
    }
    if (perConnection < 1) {
      throw new IllegalArgumentException("perConnection: " + perConnection + " (expected: >= 1)");
    }
    if (secretNames.isEmpty()) {
      throw new IllegalArgumentException("secretNames: [] (expected: at least one)");
    }
    if (updates < 0) {
      throw new IllegalArgumentException("updates: " + updates + " (expected: >= 0)");
    }
    if (eventLoopThreads < 1) {
      throw new IllegalArgumentException("eventLoopThreads: " + eventLoopThreads + " (expected: >= 1)");
    }
  }

  /** The command-line form, for starting the client as a process; {@link #parse} reads it back. */
  public List<String> toArgs() {
    List<String> a = new ArrayList<>(List.of(
        "--socket", socket.toString(),
        "--mode", mode.name().toLowerCase(java.util.Locale.ROOT),
        "--streams", Integer.toString(streams),
        "--per-connection", Integer.toString(perConnection),
        "--node-id", nodeId,
        "--updates", Integer.toString(updates),
        "--out", out.toString(),
        "--timeout-ms", Long.toString(timeout.toMillis()),
        "--event-loop-threads", Integer.toString(eventLoopThreads),
        "--hold-ms", Long.toString(hold.toMillis())));
    for (String n : secretNames) {
      a.add("--name");
      a.add(n);
    }
    probeSocket.ifPresent(p -> {
      a.add("--probe-socket");
      a.add(p.toString());
    });
    return a;
  }

  public static LoadOptions parse(String[] args) {
    Path socket = null;
    Mode mode = Mode.SDS;
    int streams = 1;
    int perConnection = 10;
    List<String> names = new ArrayList<>();
    String nodeId = "envoy";
    int updates = 1;
    Path out = null;
    Duration timeout = Duration.ofMinutes(5);
    Optional<Path> probe = Optional.empty();
    int threads = 2;
    Duration hold = Duration.ZERO;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(flag + ": missing value");
      }
      String v = args[++i];
      switch (flag) {
        case "--socket" -> socket = Path.of(v);
        case "--mode" -> mode = Mode.valueOf(v.toUpperCase(java.util.Locale.ROOT));
        case "--streams" -> streams = Integer.parseInt(v);
        case "--per-connection" -> perConnection = Integer.parseInt(v);
        case "--name" -> names.add(v);
        case "--node-id" -> nodeId = v;
        case "--updates" -> updates = Integer.parseInt(v);
        case "--out" -> out = Path.of(v);
        case "--timeout-ms" -> timeout = Duration.ofMillis(Long.parseLong(v));
        case "--probe-socket" -> probe = Optional.of(Path.of(v));
        case "--event-loop-threads" -> threads = Integer.parseInt(v);
        case "--hold-ms" -> hold = Duration.ofMillis(Long.parseLong(v));
        default -> throw new IllegalArgumentException(flag + ": unknown flag");
      }
    }
    if (socket == null || out == null) {
      throw new IllegalArgumentException("--socket and --out are required");
    }
    if (names.isEmpty()) {
      names.add("default");
    }
    return new LoadOptions(socket, mode, streams, perConnection, names, nodeId, updates, out, timeout, probe, threads, hold);
  }
}
