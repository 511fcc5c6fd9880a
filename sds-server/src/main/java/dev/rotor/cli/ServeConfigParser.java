package dev.rotor.cli;

import dev.rotor.admin.AdminOptions;
import dev.rotor.gate.GatePolicy;
import dev.rotor.http.HttpLimits;
import dev.rotor.protocol.StreamLimits;
import dev.rotor.runtime.ServeConfig;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.source.workload.WorkloadApiAddress;
import dev.rotor.transport.TcpMtlsOptions;
import dev.rotor.transport.UdsServerOptions;
import dev.rotor.xds.secret.SecretNaming;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Turns {@code rotor serve}'s flags into a {@link ServeConfig}, or a one-line {@link UsageException}. */
final class ServeConfigParser {

  static final String DEFAULT_TRUST_DOMAIN = "example.org";
  static final Duration DEFAULT_SVID_TTL = Duration.ofHours(1);
  static final Duration DEFAULT_CA_TTL = Duration.ofHours(24);

  private static final Pattern OCTAL_MODE = Pattern.compile("0?([0-7]{3})");
  private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]]+):(\\d{1,5})");

  /** Field names used in the options records' messages, and the flags users know them by. */
  private static final Map<String, String> FLAGS = Map.ofEntries(
      Map.entry("svidTtl", "--svid-ttl"),
      Map.entry("caTtl", "--ca-ttl"),
      Map.entry("caRotationPeriod", "--ca-rotation-period"),
      Map.entry("caOverlap", "--ca-overlap"),
      Map.entry("dnsNames", "--dns-name"),
      Map.entry("spiffeIds", "--spiffe-id"),
      Map.entry("defaultSvidName", "--default-svid-name"),
      Map.entry("defaultBundleName", "--default-bundle-name"),
      Map.entry("allBundlesName", "--default-all-bundles-name"),
      Map.entry("secret names", "--default-svid-name/--default-bundle-name/--default-all-bundles-name"));

  private ServeConfigParser() {}

  static ServeConfig parse(ServeCommand c, Map<String, String> env) {
    if (c.dev && c.workloadApi != null) {
      throw UsageException.of("--dev", "cannot be combined with --workload-api (choose one identity source)");
    }
    Optional<TrustDomain> trustDomain = Optional.ofNullable(c.trustDomain).map(ServeConfigParser::trustDomain);
    Set<SpiffeId> expected = new LinkedHashSet<>();
    for (String id : c.expectSpiffeIds) {
      expected.add(spiffeId("--expect-spiffe-id", id));
    }

    Optional<DevCaOptions> dev = Optional.empty();
    Optional<WorkloadApiAddress> agent = Optional.empty();
    if (c.dev) {
      TrustDomain td = trustDomain.orElse(TrustDomain.parse(DEFAULT_TRUST_DOMAIN));
      trustDomain = Optional.of(td);
      dev = Optional.of(devOptions(c, td));
    } else {
      rejectDevOnly(c);
      try {
        agent = WorkloadApiAddress.resolve(c.workloadApi, env);
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage(), e);
      }
      if (agent.isEmpty()) {
        throw UsageException.of("--workload-api", "no identity source (give --workload-api unix:///path/to/agent.sock"
            + " or set SPIFFE_ENDPOINT_SOCKET; or --dev for the embedded development CA)");
      }
    }
    if (c.workloadApiWait.isNegative() || c.workloadApiWait.compareTo(Duration.ofMinutes(10)) > 0) {
      throw UsageException.of("--workload-api-wait", Durations.format(c.workloadApiWait) + " (expected: between 0s and 10m)");
    }

    UdsServerOptions uds = udsOptions(c);
    Optional<TcpMtlsOptions> tcp = tcpOptions(c);
    SecretNaming naming = translate(() -> new SecretNaming(c.defaultSvidName, c.defaultBundleName, c.defaultAllBundlesName));
    GatePolicy policy = new GatePolicy(trustDomain, expected);
    if (c.policy != null) {
      PolicyFiles.load("--policy", c.policy); // refuse to start on an invalid policy, listing every error
    }
    if (c.policyPollInterval.compareTo(Duration.ofMillis(100)) < 0 || c.policyPollInterval.compareTo(Duration.ofMinutes(10)) > 0) {
      throw UsageException.of("--policy-poll-interval", Durations.format(c.policyPollInterval)
          + " (expected: between 100ms and 10m)");
    }
    AdminOptions admin = adminOptions(c, dev);
    between("--max-streams", c.maxStreams, 1, 1_000_000);
    // Above 4 MiB, gRPC's own message limit (transport.Transports) refuses the request first.
    between("--max-node-bytes", c.maxNodeBytes, 1024, 4 * 1024 * 1024);
    return new ServeConfig(dev, agent, c.workloadApiWait, policy, uds, tcp, naming, c.disableSpiffeCertValidation,
        Optional.ofNullable(c.policy).map(java.nio.file.Path::toAbsolutePath), c.policyPollInterval, admin,
        helperConfig(c.helperConfig), new StreamLimits(c.maxStreams, c.maxNodeBytes));
  }

  private static AdminOptions adminOptions(ServeCommand c, Optional<DevCaOptions> dev) {
    // Default 30 s; with the dev CA's short TTLs a quarter of the TTL, since it re-issues at half.
    Duration margin = c.readyExpiryMargin != null ? c.readyExpiryMargin
        : dev.map(d -> min(AdminOptions.DEFAULT_READY_EXPIRY_MARGIN, d.svidTtl().dividedBy(4)))
            .orElse(AdminOptions.DEFAULT_READY_EXPIRY_MARGIN);
    if (margin.isNegative() || margin.compareTo(Duration.ofDays(1)) > 0) {
      throw UsageException.of("--ready-expiry-margin", Durations.format(margin) + " (expected: between 0s and 1d)");
    }
    if (dev.isPresent() && margin.compareTo(dev.get().svidTtl().dividedBy(2)) >= 0) {
      // The dev CA re-issues at half the TTL, so an SVID always has at least that much left; a
      // margin that large would keep /readyz failing forever.
      throw UsageException.of("--ready-expiry-margin", Durations.format(margin) + " is not below half of --svid-ttl ("
          + Durations.format(dev.get().svidTtl()) + "), so Rotor would never be ready (expected: a smaller margin)");
    }
    HttpLimits http = adminLimits(c);
    if (c.adminAddress.equalsIgnoreCase("off")) {
      return new AdminOptions(Optional.empty(), margin, http);
    }
    Matcher m = HOST_PORT.matcher(c.adminAddress);
    if (!m.matches()) {
      throw UsageException.of("--admin-address", "\"" + c.adminAddress + "\" (expected HOST:PORT, e.g. "
          + AdminOptions.DEFAULT_ADDRESS + ", or off)");
    }
    int port = Integer.parseInt(m.group(2));
    if (port > 65535) {
      throw UsageException.of("--admin-address", "port " + port + " (expected: between 0 and 65535; 0 picks a free one)");
    }
    String host = m.group(1).startsWith("[") ? m.group(1).substring(1, m.group(1).length() - 1) : m.group(1);
    try {
      return new AdminOptions(Optional.of(new InetSocketAddress(InetAddress.getByName(host), port)), margin, http);
    } catch (UnknownHostException e) {
      throw UsageException.of("--admin-address", "unknown host \"" + host + "\" (expected an IP address such as 127.0.0.1)");
    }
  }

  private static HttpLimits adminLimits(ServeCommand c) {
    if (c.adminRequestTimeout.compareTo(Duration.ofMillis(100)) < 0
        || c.adminRequestTimeout.compareTo(Duration.ofMinutes(1)) > 0) {
      throw UsageException.of("--admin-request-timeout", Durations.format(c.adminRequestTimeout)
          + " (expected: between 100ms and 1m; probes send their request at once)");
    }
    between("--admin-max-connections", c.adminMaxConnections, 4, 10_000);
    HttpLimits d = AdminOptions.defaultHttpLimits();
    return new HttpLimits(c.adminRequestTimeout, d.responseTimeout(), c.adminMaxConnections, d.handlerThreads());
  }

  /** --helper-config: the file writer inside serve, validated like rotor write-certs' --config. */
  private static Optional<dev.rotor.files.HelperConfig> helperConfig(Path file) {
    if (file == null) {
      return Optional.empty();
    }
    dev.rotor.files.HelperConfig helper;
    try {
      // No environment: serve's files come from its own source, so the file writer's agent address
      // (agent_address, SPIRE_AGENT_ADDRESS, SPIFFE_ENDPOINT_SOCKET) is never used nor checked here.
      helper = dev.rotor.files.HelperConfigParser.parseFile(file, Map.of(), Map.of());
      dev.rotor.files.FileWriterService.requireNoJwt(helper, "rotor serve writes the X.509 files it serves; run"
          + " rotor write-certs for JWT files");
    } catch (dev.rotor.files.HelperConfigException e) {
      throw UsageException.of("--helper-config", e.getMessage());
    }
    if (!helper.daemonMode()) {
      throw UsageException.of("--helper-config", file + ": daemon_mode = false writes once and exits; rotor serve"
          + " keeps the files current (remove daemon_mode, or use rotor write-certs --one-shot)");
    }
    if (helper.x509().isEmpty()) {
      throw UsageException.of("--helper-config", file + ": no X.509 files to write (give svid_file_name,"
          + " svid_key_file_name and svid_bundle_file_name)");
    }
    return Optional.of(helper);
  }

  private static DevCaOptions devOptions(ServeCommand c, TrustDomain td) {
    List<SpiffeId> ids = new ArrayList<>();
    for (String id : c.spiffeIds) {
      SpiffeId parsed = spiffeId("--spiffe-id", id);
      if (!parsed.memberOf(td)) {
        throw UsageException.of("--spiffe-id", parsed + " is not in trust domain " + td.getName()
            + " (use an ID under spiffe://" + td.getName() + "/ or change --trust-domain)");
      }
      ids.add(parsed);
    }
    if (ids.isEmpty()) {
      ids.add(td.newSpiffeId("workload"));
    }
    Duration svidTtl = c.svidTtl != null ? c.svidTtl : DEFAULT_SVID_TTL;
    Duration caTtl = c.caTtl != null ? c.caTtl : max(DEFAULT_CA_TTL, svidTtl.multipliedBy(4));
    Duration rotation = c.caRotationPeriod != null ? c.caRotationPeriod : Duration.ZERO;
    Duration overlap = c.caOverlap != null ? c.caOverlap
        : (rotation.isZero() ? svidTtl : min(svidTtl, rotation));
    return translate(() -> new DevCaOptions(td, ids, svidTtl, caTtl, rotation, overlap, List.copyOf(c.dnsNames)));
  }

  private static void rejectDevOnly(ServeCommand c) {
    String why = "only with --dev (with a SPIRE agent, the SPIRE server decides identities and lifetimes)";
    if (!c.spiffeIds.isEmpty()) {
      throw UsageException.of("--spiffe-id", why);
    }
    if (!c.dnsNames.isEmpty()) {
      throw UsageException.of("--dns-name", why);
    }
    if (c.svidTtl != null) {
      throw UsageException.of("--svid-ttl", why);
    }
    if (c.caTtl != null) {
      throw UsageException.of("--ca-ttl", why);
    }
    if (c.caRotationPeriod != null) {
      throw UsageException.of("--ca-rotation-period", why);
    }
    if (c.caOverlap != null) {
      throw UsageException.of("--ca-overlap", why);
    }
  }

  private static UdsServerOptions udsOptions(ServeCommand c) {
    Path socket;
    try {
      socket = Path.of(c.sdsSocket).toAbsolutePath().normalize();
    } catch (RuntimeException e) {
      throw UsageException.of("--sds-socket", "\"" + c.sdsSocket + "\" is not a path");
    }
    if (socket.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 107) {
      throw UsageException.of("--sds-socket", socket + " is too long for a Unix socket (expected at most 107 bytes;"
          + " choose a shorter path)");
    }
    Matcher m = OCTAL_MODE.matcher(c.socketMode);
    if (!m.matches()) {
      throw UsageException.of("--socket-mode", "\"" + c.socketMode + "\" is not an octal file mode (expected e.g. 0660)");
    }
    Set<PosixFilePermission> mode = permissions(Integer.parseInt(m.group(1), 8));
    if (!mode.contains(PosixFilePermission.OWNER_READ) || !mode.contains(PosixFilePermission.OWNER_WRITE)) {
      throw UsageException.of("--socket-mode", c.socketMode + " (expected: the owner can read and write, e.g. 0660)");
    }
    Set<Integer> uids = new LinkedHashSet<>();
    for (String u : c.allowedUids) {
      try {
        int uid = Integer.parseInt(u.trim());
        if (uid < 0) {
          throw new NumberFormatException();
        }
        uids.add(uid);
      } catch (NumberFormatException e) {
        throw UsageException.of("--allowed-uid", "\"" + u + "\" is not a UID (expected a number >= 0, e.g. 101)");
      }
    }
    if (uids.isEmpty()) {
      uids.add(ownUid());
    }
    between("--max-connections", c.maxConnections, 1, 100_000);
    between("--max-connections-per-uid", c.maxConnectionsPerUid, 1, c.maxConnections);
    between("--max-streams-per-connection", c.maxStreamsPerConnection, 1, 100_000);
    UdsServerOptions.Limits limits = new UdsServerOptions.Limits(c.maxConnections, c.maxConnectionsPerUid,
        c.maxStreamsPerConnection);
    return translate(() -> new UdsServerOptions(socket, mode, uids, limits));
  }

  private static Optional<TcpMtlsOptions> tcpOptions(ServeCommand c) {
    if (c.tcpListen == null) {
      if (!c.tcpAllowedSpiffeIds.isEmpty()) {
        throw UsageException.of("--tcp-allowed-spiffe-id", "only with --tcp-listen");
      }
      return Optional.empty();
    }
    Matcher m = HOST_PORT.matcher(c.tcpListen);
    if (!m.matches()) {
      throw UsageException.of("--tcp-listen", "\"" + c.tcpListen + "\" (expected HOST:PORT, e.g. 127.0.0.1:8443 or [::1]:8443)");
    }
    int port = Integer.parseInt(m.group(2));
    if (port < 1 || port > 65535) {
      throw UsageException.of("--tcp-listen", "port " + port + " (expected: between 1 and 65535)");
    }
    String host = m.group(1).startsWith("[") ? m.group(1).substring(1, m.group(1).length() - 1) : m.group(1);
    if (c.tcpAllowedSpiffeIds.isEmpty()) {
      throw UsageException.of("--tcp-allowed-spiffe-id", "required with --tcp-listen (name the client SPIFFE IDs"
          + " allowed to connect; Rotor never accepts any authenticated client)");
    }
    Set<SpiffeId> allowed = new LinkedHashSet<>();
    for (String id : c.tcpAllowedSpiffeIds) {
      allowed.add(spiffeId("--tcp-allowed-spiffe-id", id));
    }
    return Optional.of(translate(() -> new TcpMtlsOptions(host, port, allowed)));
  }

  /** A count flag within [min, max]; the message names the range (max may come from another flag). */
  private static void between(String flag, int value, int min, int max) {
    if (value < min || value > max) {
      throw UsageException.of(flag, value + " (expected: between " + min + " and " + max + ")");
    }
  }

  static TrustDomain trustDomain(String value) {
    try {
      if (value.startsWith("spiffe://")) {
        throw new IllegalArgumentException();
      }
      return TrustDomain.parse(value);
    } catch (RuntimeException e) {
      throw UsageException.of("--trust-domain", "\"" + value + "\" is not a trust domain name"
          + " (expected lower-case letters, digits, '.', '-', '_', e.g. example.org, without spiffe://)");
    }
  }

  static SpiffeId spiffeId(String flag, String value) {
    try {
      return SpiffeId.parse(value);
    } catch (RuntimeException e) {
      throw UsageException.of(flag, "\"" + value + "\" is not a SPIFFE ID (expected spiffe://<trust-domain>/<path>)");
    }
  }

  /** Runs a record constructor and rewrites its field names into the flags users typed. */
  private static <T> T translate(java.util.function.Supplier<T> build) {
    try {
      return build.get();
    } catch (IllegalArgumentException e) {
      String msg = e.getMessage() == null ? "invalid value" : e.getMessage();
      for (Map.Entry<String, String> f : FLAGS.entrySet()) {
        if (msg.startsWith(f.getKey() + ":") || msg.startsWith(f.getKey() + "[")) {
          String rest = msg.substring(f.getKey().length());
          rest = rest.startsWith("[") ? rest.substring(rest.indexOf(']') + 1) : rest;
          throw new UsageException(f.getValue() + rest, e);
        }
      }
      throw new UsageException(msg, e);
    }
  }

  static int ownUid() {
    try {
      return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    } catch (IOException | RuntimeException e) {
      throw new UsageException("--allowed-uid: cannot tell Rotor's own UID (" + e.getMessage() + "); give --allowed-uid");
    }
  }

  private static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = {
        PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
        PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
        PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE};
    for (int i = 0; i < 9; i++) {
      if ((mode & (1 << (8 - i))) != 0) {
        p.add(order[i]);
      }
    }
    return p;
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
