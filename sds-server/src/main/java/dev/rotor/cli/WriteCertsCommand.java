package dev.rotor.cli;

import dev.rotor.files.FileWriterService;
import dev.rotor.files.HelperConfig;
import dev.rotor.files.HelperConfigException;
import dev.rotor.files.HelperConfigParser;
import dev.rotor.files.HelperConfigParser.Flag;
import dev.rotor.gate.GatePolicy;
import dev.rotor.runtime.WriteCertsRuntime;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.source.workload.WorkloadApiAddress;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rotor write-certs}: spiffe-helper's job, done atomically. Reads {@code helper.conf}
 * (--config) and flags of the same names (a flag overrides the file), then writes the SVID, key and
 * bundle files and keeps them current (daemon mode), or writes them once and exits (--one-shot).
 */
@Command(
    name = "write-certs",
    mixinStandardHelpOptions = true,
    versionProvider = RotorMain.Version.class,
    sortOptions = false,
    description = {
        "Write the SVID, its key and the trust bundle to files, and keep them current.",
        "",
        "For programs that read certificates from disk (PostgreSQL, JDBC clients, ...): a drop-in for"
            + " spiffe-helper that reads its helper.conf and takes its command line unchanged (-config FILE,"
            + " default ./helper.conf; -daemon-mode=false; -version). Certificate and key change together (one"
            + " atomic symlink swap), with the configured modes and owners from the first byte; renew_signal,"
            + " pid_file_name and reload_cmd tell the program only when the content really changed.",
        "",
        "Every helper.conf key also has a flag (--cert-dir for cert_dir, ...); a flag overrides the file."
            + " docs/file-writer.md lists every key.",
        ""
    },
    footer = {
        "",
        "Examples:",
        "  rotor write-certs --config /etc/rotor/helper.conf",
        "  rotor write-certs --one-shot --agent-address unix:///run/spire/agent.sock --cert-dir /certs \\",
        "      --svid-file-name tls.crt --svid-key-file-name tls.key --svid-bundle-file-name ca.crt",
        "  rotor write-certs --dev --dns-name db.local --svid-ttl 1m --cert-dir /tmp/certs \\",
        "      --svid-file-name server.crt --svid-key-file-name server.key --svid-bundle-file-name root.crt",
        "",
        "Exit status: 0 after SIGTERM (daemon) or once the files are written (one-shot); 2 on bad input; 1"
            + " when one-shot mode found no agent socket within --workload-api-wait or could not write within"
            + " --timeout."
    })
public final class WriteCertsCommand implements java.util.concurrent.Callable<Integer> {

  /** spiffe-helper's default configuration file, in the working directory. */
  static final String DEFAULT_CONFIG = "helper.conf";

  @Spec CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE",
      description = "spiffe-helper's helper.conf (HCL). Default, as spiffe-helper: ./helper.conf when no"
          + " setting is given as a flag.")
  Path config;

  // spiffe-helper's own flags (Go's flag package: one dash), so its command line works unchanged.
  // Hidden, not help options: picocli warns at every start about a second usageHelp option.
  @Option(names = "-config", hidden = true)
  Path goConfig;

  @Option(names = "-daemon-mode", hidden = true, arity = "0..1", fallbackValue = "true", converter = GoBool.class)
  Boolean goDaemonMode;

  @Option(names = "-version", hidden = true)
  boolean goVersion;

  @Option(names = "-help", hidden = true)
  boolean goHelp;

  // ---- identity source ----
  @Option(names = {"--agent-address", "--workload-api"}, paramLabel = "ADDRESS",
      description = "agent_address: the SPIRE agent's Workload API, /path or unix:///path"
          + " (default: $SPIFFE_ENDPOINT_SOCKET, else /tmp/spire-agent/public/api.sock).")
  String agentAddress;

  @Option(names = "--dev", description = "Use the embedded development CA instead of a SPIRE agent (not for production).")
  boolean dev;

  @Option(names = "--trust-domain", paramLabel = "TD",
      description = "With --dev, the CA's trust domain (default: example.org); with an agent, every SVID must be in it.")
  String trustDomain;

  @Option(names = "--spiffe-id", paramLabel = "ID",
      description = {"--dev: the SPIFFE ID to issue.", "Default: spiffe://<td>/workload."})
  String spiffeId;

  @Option(names = "--dns-name", paramLabel = "NAME",
      description = "--dev: DNS SAN (repeatable); the first also becomes the subject CN (PostgreSQL maps it).")
  List<String> dnsNames = new ArrayList<>();

  @Option(names = "--svid-ttl", paramLabel = "DURATION", converter = Durations.class,
      description = "--dev: SVID lifetime, 10s..30d (default: 1h); re-issued at half of it.")
  Duration svidTtl;

  // ---- mode ----
  @Option(names = "--one-shot", description = "Write once and exit (daemon_mode = false), e.g. in an init container.")
  boolean oneShot;

  @Option(names = "--daemon-mode", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
      converter = GoBool.class, description = "daemon_mode (default: true).")
  Boolean daemonMode;

  @Option(names = "--workload-api-wait", paramLabel = "DURATION", converter = Durations.class, defaultValue = "5s",
      description = "One-shot: how long to wait for a missing agent socket to appear (default: ${DEFAULT-VALUE};"
          + " spiffe-helper does not wait). 0s fails at once.")
  Duration workloadApiWait;

  @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "60s",
      description = "One-shot: how long to wait for the first write, the socket wait included"
          + " (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  // ---- files ----
  @Option(names = "--cert-dir", paramLabel = "DIR", description = "cert_dir: where the files go (must exist).")
  String certDir;

  @Option(names = "--allow-insecure-cert-dir", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
      description = "allow_insecure_cert_dir: accept a cert_dir other users can write to (docs/file-writer.md).")
  Boolean allowInsecureCertDir;

  @Option(names = "--svid-file-name", paramLabel = "NAME", description = "svid_file_name: certificate chain, PEM.")
  String svidFileName;

  @Option(names = "--svid-key-file-name", paramLabel = "NAME", description = "svid_key_file_name: key, PKCS#8 PEM.")
  String svidKeyFileName;

  @Option(names = "--svid-bundle-file-name", paramLabel = "NAME", description = "svid_bundle_file_name: trust bundle, PEM.")
  String svidBundleFileName;

  @Option(names = "--add-intermediates-to-bundle", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
      description = "add_intermediates_to_bundle.")
  Boolean addIntermediatesToBundle;

  @Option(names = "--include-federated-domains", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
      description = "include_federated_domains.")
  Boolean includeFederatedDomains;

  @Option(names = "--omit-expired", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
      description = "omit_expired.")
  Boolean omitExpired;

  @Option(names = "--cert-file-mode", paramLabel = "OCTAL", description = "cert_file_mode (default: 0644).")
  String certFileMode;

  @Option(names = "--key-file-mode", paramLabel = "OCTAL", description = "key_file_mode (default: 0600).")
  String keyFileMode;

  @Option(names = "--cert-file-owner", paramLabel = "UID:GID", description = "cert_file_owner (numeric).")
  String certFileOwner;

  @Option(names = "--key-file-owner", paramLabel = "UID:GID", description = "key_file_owner (numeric).")
  String keyFileOwner;

  @Option(names = "--pkcs8-der-key-file-name", paramLabel = "NAME",
      description = "pkcs8_der_key_file_name: the key as PKCS#8 DER (pgjdbc's sslkey=....pk8).")
  String pkcs8DerKeyFileName;

  @Option(names = "--pkcs12-file-name", paramLabel = "NAME",
      description = "pkcs12_file_name: key, chain and bundle as a PKCS#12 keystore.")
  String pkcs12FileName;

  @Option(names = "--pkcs12-password-file", paramLabel = "FILE",
      description = "pkcs12_password_file (default password: changeit).")
  String pkcs12PasswordFile;

  @Option(names = "--hint", paramLabel = "HINT", description = "hint: write the SVID with this hint.")
  String hint;

  @Option(names = "--jwt-svid", paramLabel = "AUDIENCE=FILE",
      description = "jwt_svids (repeatable; AUDIENCE,EXTRA=FILE for extra audiences).")
  List<String> jwtSvids = new ArrayList<>();

  @Option(names = "--jwt-bundle-file-name", paramLabel = "NAME", description = "jwt_bundle_file_name.")
  String jwtBundleFileName;

  @Option(names = "--jwt-bundle-file-mode", paramLabel = "OCTAL", description = "jwt_bundle_file_mode (default: 0600).")
  String jwtBundleFileMode;

  @Option(names = "--jwt-svid-file-mode", paramLabel = "OCTAL", description = "jwt_svid_file_mode (default: 0600).")
  String jwtSvidFileMode;

  // ---- telling the program ----
  @Option(names = "--cmd", paramLabel = "PROGRAM", description = "cmd: started after the first write.")
  String cmd;

  @Option(names = "--cmd-args", paramLabel = "ARGS", description = "cmd_args: split on spaces, \"double quotes\" group.")
  String cmdArgs;

  @Option(names = "--pid-file-name", paramLabel = "FILE", description = "pid_file_name: signal the process in it.")
  String pidFileName;

  @Option(names = "--renew-signal", paramLabel = "SIGNAL", description = "renew_signal, e.g. SIGHUP.")
  String renewSignal;

  @Option(names = "--reload-cmd", paramLabel = "COMMAND",
      description = "reload_cmd: run after each change, e.g. \"psql -c \\\"SELECT pg_reload_conf()\\\"\".")
  String reloadCmd;

  @Option(names = "--reload-cmd-timeout", paramLabel = "DURATION", description = "reload_cmd_timeout (default: 30s).")
  String reloadCmdTimeout;

  // ---- health ----
  @Option(names = "--health-checks", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
      description = "health_checks.listener_enabled: serve /live and /ready.")
  Boolean healthChecks;

  @Option(names = "--health-bind-address", paramLabel = "IP",
      description = "health_checks.bind_address (default: 127.0.0.1).")
  String healthBindAddress;

  @Option(names = "--health-bind-port", paramLabel = "PORT", description = "health_checks.bind_port (default: 8081).")
  String healthBindPort;

  @Option(names = "--health-liveness-path", paramLabel = "PATH", description = "health_checks.liveness_path.")
  String healthLivenessPath;

  @Option(names = "--health-readiness-path", paramLabel = "PATH", description = "health_checks.readiness_path.")
  String healthReadinessPath;

  @Override
  public Integer call() throws Exception {
    if (goHelp) {
      spec.commandLine().usage(spec.commandLine().getOut());
      return 0;
    }
    if (goVersion) {
      spec.commandLine().printVersionHelp(spec.commandLine().getOut());
      return 0;
    }
    WriteCertsRuntime.Options options = options(System.getenv(), Path.of(""));
    PrintWriter err = spec.commandLine().getErr();
    if (!options.helper().daemonMode()) {
      return oneShot(options, err);
    }
    WriteCertsRuntime rt = startRuntime(options);
    try (rt) {
      CountDownLatch stop = new CountDownLatch(1);
      Signals.onTermination(stop::countDown);
      stop.await();
    }
    return 0;
  }

  /**
   * Writes once: waits up to --workload-api-wait for the agent socket, then for the first write, all
   * within --timeout.
   */
  private int oneShot(WriteCertsRuntime.Options options, PrintWriter err) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    if (options.dev().isEmpty() && options.helper().agentAddress() instanceof WorkloadApiAddress.Unix unix) {
      // spiffe-helper's one-shot gives up at once when the socket is absent; a short wait covers an
      // agent that is restarting or a socket mounted a moment after the container started.
      Duration wait = workloadApiWait.compareTo(timeout) < 0 ? workloadApiWait : timeout;
      long socketDeadline = start + wait.toNanos();
      while (!Files.exists(unix.path())) {
        if (System.nanoTime() >= socketDeadline) {
          err.println("rotor write-certs: " + options.helper().agentAddressSource() + ": no SPIRE agent socket at "
              + unix.path() + (wait.isZero() ? "" : " after " + Durations.format(wait))
              + " (start the agent, mount its socket, fix the address, or raise --workload-api-wait)");
          return 1;
        }
        Thread.sleep(50);
      }
    }
    try (WriteCertsRuntime rt = startRuntime(options)) {
      long left = Math.max(0, deadline - System.nanoTime());
      try {
        rt.writer().firstWrite().get(left, TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        err.println("rotor write-certs: nothing written to " + options.helper().certDir() + " within "
            + Durations.format(timeout) + ": " + rt.lastProblem());
        return 1;
      } catch (ExecutionException e) {
        err.println("rotor write-certs: " + e.getCause().getMessage());
        return 1;
      }
      List<String> names = new ArrayList<>(
          options.helper().x509().map(HelperConfig.X509Output::fileNames).orElse(List.of()));
      options.helper().jwtSvids().forEach(j -> names.add(j.fileName()));
      options.helper().jwtBundleFileName().ifPresent(names::add);
      spec.commandLine().getOut().println("rotor write-certs: wrote " + String.join(", ", names) + " to "
          + options.helper().certDir());
    }
    return 0;
  }

  private static WriteCertsRuntime startRuntime(WriteCertsRuntime.Options options) {
    try {
      return WriteCertsRuntime.start(options);
    } catch (HelperConfigException e) {
      throw new UsageException(e.getMessage(), e);
    } catch (IllegalStateException e) {
      throw new UsageException("agent_address: " + e.getMessage(), e);
    }
  }

  /** Flags and file into validated options; bad input is a {@link UsageException}. */
  WriteCertsRuntime.Options options(Map<String, String> env, Path workingDirectory) {
    if (dev && agentAddress != null) {
      throw UsageException.of("--dev", "cannot be combined with --agent-address (choose one identity source)");
    }
    Map<String, Flag> flags = flags();
    if (config != null && goConfig != null) {
      throw UsageException.of("-config", "given with --config too (give one)");
    }
    Path file = config != null ? config : goConfig;
    if (file == null && flags.keySet().stream().allMatch("daemon_mode"::equals)) {
      // spiffe-helper reads ./helper.conf unless -config says otherwise; so does a container that ran
      // `spiffe-helper` or `spiffe-helper -daemon-mode=false` with only the binary changed.
      file = Path.of(DEFAULT_CONFIG);
      if (!Files.exists(workingDirectory.resolve(file))) {
        throw UsageException.of("--config", "not given, and ./" + DEFAULT_CONFIG + " (spiffe-helper's default) does"
            + " not exist in " + workingDirectory.toAbsolutePath() + " (give --config FILE, or the settings as flags:"
            + " --cert-dir, --svid-file-name, ...; see rotor write-certs --help)");
      }
    }
    HelperConfig helper;
    try {
      helper = file != null
          ? HelperConfigParser.parse(readConfig(workingDirectory.resolve(file)), file.toString(), flags, env,
              workingDirectory)
          : HelperConfigParser.fromFlags(flags, env, workingDirectory);
      if (dev) {
        FileWriterService.requireNoJwt(helper, "--dev: the development CA issues X.509-SVIDs only");
      }
    } catch (HelperConfigException e) {
      throw new UsageException(e.getMessage(), e);
    }
    if (timeout.isNegative() || timeout.compareTo(Duration.ofHours(1)) > 0) {
      throw UsageException.of("--timeout", Durations.format(timeout) + " (expected: between 0s and 1h)");
    }
    if (workloadApiWait.isNegative() || workloadApiWait.compareTo(Duration.ofHours(1)) > 0) {
      throw UsageException.of("--workload-api-wait", Durations.format(workloadApiWait)
          + " (expected: between 0s and 1h)");
    }
    Optional<TrustDomain> td = Optional.ofNullable(trustDomain).map(ServeConfigParser::trustDomain);
    Optional<DevCaOptions> devOptions = Optional.empty();
    if (dev) {
      TrustDomain t = td.orElse(TrustDomain.parse(ServeConfigParser.DEFAULT_TRUST_DOMAIN));
      td = Optional.of(t);
      devOptions = Optional.of(devOptions(t));
    } else if (spiffeId != null || !dnsNames.isEmpty() || svidTtl != null) {
      String flag = spiffeId != null ? "--spiffe-id" : !dnsNames.isEmpty() ? "--dns-name" : "--svid-ttl";
      throw UsageException.of(flag, "only with --dev (with a SPIRE agent, the SPIRE server decides identities)");
    }
    GatePolicy policy = td.map(GatePolicy::trustDomain).orElse(GatePolicy.unrestricted());
    return new WriteCertsRuntime.Options(helper, devOptions, policy);
  }

  private static String readConfig(Path config) {
    try {
      return Files.readString(config);
    } catch (java.io.IOException e) {
      throw UsageException.of("--config", "cannot read " + config + " (" + (e instanceof java.nio.file.NoSuchFileException
          ? "no such file" : e.getMessage()) + ")");
    }
  }

  private DevCaOptions devOptions(TrustDomain td) {
    SpiffeId id = spiffeId == null ? td.newSpiffeId("workload") : ServeConfigParser.spiffeId("--spiffe-id", spiffeId);
    if (!id.memberOf(td)) {
      throw UsageException.of("--spiffe-id", id + " is not in trust domain " + td.getName()
          + " (use an ID under spiffe://" + td.getName() + "/ or change --trust-domain)");
    }
    Duration ttl = svidTtl != null ? svidTtl : ServeConfigParser.DEFAULT_SVID_TTL;
    Duration caTtl = ttl.multipliedBy(4).compareTo(ServeConfigParser.DEFAULT_CA_TTL) > 0
        ? ttl.multipliedBy(4) : ServeConfigParser.DEFAULT_CA_TTL;
    try {
      return new DevCaOptions(td, List.of(id), ttl, caTtl, Duration.ZERO, ttl, List.copyOf(dnsNames));
    } catch (IllegalArgumentException e) {
      String m = e.getMessage();
      String flag = m.startsWith("svidTtl") ? "--svid-ttl" : m.startsWith("dnsNames") ? "--dns-name" : "--dev";
      throw UsageException.of(flag, m.substring(m.indexOf(':') + 1).trim());
    }
  }

  /** Every given flag, keyed by its helper.conf key. */
  private Map<String, Flag> flags() {
    Map<String, Flag> f = new LinkedHashMap<>();
    put(f, "agent_address", "--agent-address", agentAddress);
    put(f, "cert_dir", "--cert-dir", certDir);
    put(f, "allow_insecure_cert_dir", "--allow-insecure-cert-dir", allowInsecureCertDir);
    put(f, "svid_file_name", "--svid-file-name", svidFileName);
    put(f, "svid_key_file_name", "--svid-key-file-name", svidKeyFileName);
    put(f, "svid_bundle_file_name", "--svid-bundle-file-name", svidBundleFileName);
    put(f, "add_intermediates_to_bundle", "--add-intermediates-to-bundle", addIntermediatesToBundle);
    put(f, "include_federated_domains", "--include-federated-domains", includeFederatedDomains);
    put(f, "omit_expired", "--omit-expired", omitExpired);
    put(f, "cert_file_mode", "--cert-file-mode", certFileMode);
    put(f, "key_file_mode", "--key-file-mode", keyFileMode);
    put(f, "cert_file_owner", "--cert-file-owner", certFileOwner);
    put(f, "key_file_owner", "--key-file-owner", keyFileOwner);
    put(f, "pkcs8_der_key_file_name", "--pkcs8-der-key-file-name", pkcs8DerKeyFileName);
    put(f, "pkcs12_file_name", "--pkcs12-file-name", pkcs12FileName);
    put(f, "pkcs12_password_file", "--pkcs12-password-file", pkcs12PasswordFile);
    put(f, "hint", "--hint", hint);
    if (!jwtSvids.isEmpty()) {
      f.put("jwt_svids", new Flag("--jwt-svid", List.copyOf(jwtSvids)));
    }
    put(f, "jwt_bundle_file_name", "--jwt-bundle-file-name", jwtBundleFileName);
    put(f, "jwt_bundle_file_mode", "--jwt-bundle-file-mode", jwtBundleFileMode);
    put(f, "jwt_svid_file_mode", "--jwt-svid-file-mode", jwtSvidFileMode);
    put(f, "cmd", "--cmd", cmd);
    put(f, "cmd_args", "--cmd-args", cmdArgs);
    put(f, "pid_file_name", "--pid-file-name", pidFileName);
    put(f, "renew_signal", "--renew-signal", renewSignal);
    put(f, "reload_cmd", "--reload-cmd", reloadCmd);
    put(f, "reload_cmd_timeout", "--reload-cmd-timeout", reloadCmdTimeout);
    if (daemonMode != null && goDaemonMode != null) {
      throw UsageException.of("-daemon-mode", "given with --daemon-mode too (give one)");
    }
    Boolean daemonMode = this.daemonMode != null ? this.daemonMode : goDaemonMode;
    if (oneShot && Boolean.TRUE.equals(daemonMode)) {
      throw UsageException.of("--one-shot", "cannot be combined with --daemon-mode=true");
    }
    put(f, "daemon_mode", oneShot ? "--one-shot" : this.daemonMode == null ? "-daemon-mode" : "--daemon-mode",
        oneShot ? Boolean.FALSE : daemonMode);
    put(f, "health_checks.listener_enabled", "--health-checks", healthChecks);
    put(f, "health_checks.bind_address", "--health-bind-address", healthBindAddress);
    put(f, "health_checks.bind_port", "--health-bind-port", healthBindPort);
    put(f, "health_checks.liveness_path", "--health-liveness-path", healthLivenessPath);
    put(f, "health_checks.readiness_path", "--health-readiness-path", healthReadinessPath);
    return f;
  }

  private static void put(Map<String, Flag> f, String key, String flag, Object value) {
    if (value != null) {
      f.put(key, new Flag(flag, value));
    }
  }
}
