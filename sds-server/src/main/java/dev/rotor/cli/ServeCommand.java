package dev.rotor.cli;

import dev.rotor.admin.AdminOptions;
import dev.rotor.runtime.ServeConfig;
import dev.rotor.runtime.ServeRuntime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rotor serve}: the main job. Validates every flag before it starts anything. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
        "Serve SVIDs and trust bundles to Envoy over SDS, and listeners and RBAC from a policy.",
        "",
        "SDS v3: StreamSecrets, DeltaSecrets and FetchSecrets. With --policy also listeners, clusters and RBAC"
            + " generated from a SPIFFE-ID policy, over ADS (and LDS/CDS).",
        "",
        "Identities come from a SPIRE agent (--workload-api, or $SPIFFE_ENDPOINT_SOCKET) or, for laptops and"
            + " tests, from an embedded development CA (--dev). Every identity passes a gate (valid now, key"
            + " matches, expected trust domain and IDs, chain verifies) before anything is served; the last good"
            + " one stays in force meanwhile, and an expired certificate is never served.",
        "",
        "Secret names are those of SPIRE's agent, so an Envoy bootstrap written for it works unchanged.",
        "Names: default, ROOTCA, ALL, spiffe://<trust-domain> for each trust domain, each SVID's SPIFFE ID.",
        ""
    },
    footer = {
        "",
        "Examples:",
        "  rotor serve --dev                                   # development CA, socket /run/rotor/sds.sock",
        "  rotor serve --workload-api unix:///run/spire/agent/api.sock --allowed-uid 101",
        "  rotor status                                        # one row per connected Envoy",
        "",
        "Exit status: 0 after a clean shutdown (SIGTERM, SIGINT or SIGHUP, at any point after start; the"
            + " policy file is watched, so there is no reload signal), 2 on bad input, 1 on a failure at run"
            + " time."
    })
public final class ServeCommand implements Callable<Integer> {

  @Option(names = "--workload-api", paramLabel = "ADDRESS",
      description = "SPIRE agent Workload API: unix:///path, /path or tcp://IP:PORT. Default: $SPIFFE_ENDPOINT_SOCKET.")
  String workloadApi;

  @Option(names = "--workload-api-wait", paramLabel = "DURATION", converter = Durations.class, defaultValue = "30s",
      description = "How long to wait at start-up for the agent socket to appear (default: ${DEFAULT-VALUE}).")
  Duration workloadApiWait;

  @Option(names = "--dev", description = "Use the embedded development CA instead of a SPIRE agent (not for production).")
  boolean dev;

  @Option(names = "--trust-domain", paramLabel = "TD",
      description = "Trust domain. With --dev, the CA's (default: example.org); with a SPIRE agent, every SVID must be in it.")
  String trustDomain;

  @Option(names = "--spiffe-id", paramLabel = "ID",
      description = {"--dev: SPIFFE ID to issue (repeatable; the first is `default`).",
          "Default: spiffe://<td>/workload."})
  List<String> spiffeIds = new ArrayList<>();

  @Option(names = "--dns-name", paramLabel = "NAME",
      description = "--dev: DNS SAN to add to every SVID (repeatable); the first also becomes the subject CN.")
  List<String> dnsNames = new ArrayList<>();

  @Option(names = "--svid-ttl", paramLabel = "DURATION", converter = Durations.class,
      description = "--dev: SVID lifetime, 10s..30d (default: 1h); re-issued at half of it.")
  Duration svidTtl;

  @Option(names = "--ca-ttl", paramLabel = "DURATION", converter = Durations.class,
      description = "--dev: CA lifetime (default: 24h); must exceed --svid-ttl.")
  Duration caTtl;

  @Option(names = "--ca-rotation-period", paramLabel = "DURATION", converter = Durations.class,
      description = "--dev: rotate the CA this often (default: 0, never).")
  Duration caRotationPeriod;

  @Option(names = "--ca-overlap", paramLabel = "DURATION", converter = Durations.class,
      description = "--dev: after a CA rotation, how long the bundle holds both CAs (default: --svid-ttl).")
  Duration caOverlap;

  @Option(names = "--expect-spiffe-id", paramLabel = "ID",
      description = "Refuse identities whose SPIFFE ID is not one of these (repeatable).")
  List<String> expectSpiffeIds = new ArrayList<>();

  @Option(names = "--sds-socket", paramLabel = "PATH", defaultValue = ServeConfig.DEFAULT_SDS_SOCKET,
      description = "Unix socket Envoy connects to (default: ${DEFAULT-VALUE}).")
  String sdsSocket;

  @Option(names = "--socket-mode", paramLabel = "OCTAL", defaultValue = "0660",
      description = "File mode of the socket (default: ${DEFAULT-VALUE}). Callers are also checked by UID.")
  String socketMode;

  @Option(names = "--allowed-uid", paramLabel = "UID",
      description = "UIDs allowed to connect to the socket (repeatable; default: Rotor's own UID). Connections from"
          + " other UIDs are closed at once, before any call.")
  List<String> allowedUids = new ArrayList<>();

  @Option(names = "--max-connections", paramLabel = "N", defaultValue = "512",
      description = "Connections to the socket open at once, all UIDs together (default: ${DEFAULT-VALUE}); more are"
          + " closed at once. A UID that is not allowed is always closed at once.")
  int maxConnections;

  @Option(names = "--max-connections-per-uid", paramLabel = "N", defaultValue = "256",
      description = "Connections to the socket open at once from one allowed UID (default: ${DEFAULT-VALUE}).")
  int maxConnectionsPerUid;

  @Option(names = "--max-streams-per-connection", paramLabel = "N", defaultValue = "100",
      description = "Concurrent streams and calls on one socket connection, announced to the client as HTTP/2"
          + " MAX_CONCURRENT_STREAMS (default: ${DEFAULT-VALUE}).")
  int maxStreamsPerConnection;

  @Option(names = "--max-streams", paramLabel = "N", defaultValue = "4096",
      description = "xDS streams open at once over every transport (default: ${DEFAULT-VALUE}); one more is refused"
          + " with RESOURCE_EXHAUSTED.")
  int maxStreams;

  @Option(names = "--max-node-bytes", paramLabel = "N", defaultValue = "262144",
      description = "Largest Envoy node a request may carry, serialized (default: ${DEFAULT-VALUE}); a larger one ends"
          + " the stream with INVALID_ARGUMENT. Streams keep only the node fields Rotor reads.")
  int maxNodeBytes;

  @Option(names = "--tcp-listen", paramLabel = "HOST:PORT",
      description = "Also serve on TCP with mutual TLS using Rotor's own SVID (off by default).")
  String tcpListen;

  @Option(names = "--tcp-allowed-spiffe-id", paramLabel = "ID",
      description = "Client SPIFFE IDs allowed on --tcp-listen (repeatable; required with it).")
  List<String> tcpAllowedSpiffeIds = new ArrayList<>();

  @Option(names = "--default-svid-name", paramLabel = "NAME", defaultValue = "default",
      description = "Name of the default SVID secret (SPIRE: default_svid_name; default: ${DEFAULT-VALUE}).")
  String defaultSvidName;

  @Option(names = "--default-bundle-name", paramLabel = "NAME", defaultValue = "ROOTCA",
      description = "Name of the own-bundle secret (SPIRE: default_bundle_name; default: ${DEFAULT-VALUE}).")
  String defaultBundleName;

  @Option(names = "--default-all-bundles-name", paramLabel = "NAME", defaultValue = "ALL",
      description = "Name of the all-bundles secret (SPIRE: default_all_bundles_name; default: ${DEFAULT-VALUE}).")
  String defaultAllBundlesName;

  @Option(names = "--policy", paramLabel = "FILE",
      description = "SPIFFE-ID authorization policy (YAML, docs/policy.md): also serve listeners, clusters and RBAC"
          + " over ADS/LDS/CDS. The file is watched; an invalid new version is rejected and the last good one kept.")
  java.nio.file.Path policy;

  @Option(names = "--policy-poll-interval", paramLabel = "DURATION", converter = Durations.class, defaultValue = "1s",
      description = "How often the policy file is checked for changes (default: ${DEFAULT-VALUE}).")
  Duration policyPollInterval;

  @Option(names = "--admin-address", paramLabel = "HOST:PORT|off", defaultValue = AdminOptions.DEFAULT_ADDRESS,
      description = "Admin HTTP endpoint: /healthz, /readyz, /metrics (Prometheus), /status (JSON). Loopback by"
          + " default (${DEFAULT-VALUE}); off disables it. Port 0 picks a free port (printed at start-up).")
  String adminAddress;

  @Option(names = "--ready-expiry-margin", paramLabel = "DURATION", converter = Durations.class,
      description = "/readyz turns false when the SVID expires within this margin (default: 30s, or a quarter of"
          + " --svid-ttl with --dev when that is shorter).")
  Duration readyExpiryMargin;

  @Option(names = "--admin-request-timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "5s",
      description = "Admin endpoint: close a connection that has not sent its whole request within this time"
          + " (default: ${DEFAULT-VALUE}; slow clients never hold a thread).")
  Duration adminRequestTimeout;

  @Option(names = "--admin-max-connections", paramLabel = "N", defaultValue = "64",
      description = "Admin endpoint: connections open at once (default: ${DEFAULT-VALUE}); at the limit the oldest"
          + " connection still sending its request is closed to admit a new one.")
  int adminMaxConnections;

  @Mixin
  LoggingOptions logging = new LoggingOptions();

  @Option(names = "--disable-spiffe-cert-validation",
      description = "Serve validation contexts as trusted_ca instead of the SPIFFE validator, for every Envoy"
          + " (per Envoy: node metadata disable_spiffe_cert_validation).")
  boolean disableSpiffeCertValidation;

  @Option(names = "--helper-config", paramLabel = "FILE",
      description = "spiffe-helper's helper.conf: also write the served SVID, key and bundle to files, as"
          + " rotor write-certs does (docs/file-writer.md). Its agent_address is not used: files get what serve serves.")
  java.nio.file.Path helperConfig;

  @Override
  public Integer call() throws Exception {
    logging.validate();
    ServeConfig config = ServeConfigParser.parse(this, System.getenv());
    logging.apply();
    // Handle SIGTERM (and SIGINT, SIGHUP) from before start-up on: one that arrives while Rotor
    // starts (waiting for the agent socket, binding) must still end in a clean shutdown with status
    // 0, not the JVM's 143. RotorMain caught them from its first line on; until here they exit 0.
    AtomicBoolean terminate = new AtomicBoolean();
    AtomicReference<ServeRuntime> running = new AtomicReference<>();
    Signals.whenServing(() -> {
      terminate.set(true);
      ServeRuntime r = running.get();
      if (r != null) {
        r.requestShutdown();
      }
    });
    try (ServeRuntime runtime = ServeRuntime.start(config)) {
      running.set(runtime);
      if (terminate.get()) {
        runtime.requestShutdown();
      }
      runtime.awaitShutdown();
    }
    LoggingOptions.flushAndStop();
    return 0;
  }
}
