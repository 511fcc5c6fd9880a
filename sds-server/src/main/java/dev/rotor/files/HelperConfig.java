package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import dev.rotor.source.workload.WorkloadApiAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Everything the file writer needs, validated, with spiffe-helper's defaults applied: what
 * {@code helper.conf} (and {@code rotor write-certs}' flags) say. Built by {@link
 * HelperConfigParser}; docs/file-writer.md documents every key.
 *
 * @param agentAddress the SPIRE agent's Workload API ({@code agent_address})
 * @param certDir absolute directory every output file is written to ({@code cert_dir})
 * @param x509 the X.509 outputs, when the three file names are given
 * @param jwtSvids JWT-SVID outputs ({@code jwt_svids})
 * @param jwtBundleFileName JWT bundle output ({@code jwt_bundle_file_name})
 * @param files modes and owners of the outputs
 * @param reload what to start, signal or run after a write
 * @param daemonMode false: write once and exit ({@code daemon_mode})
 * @param healthChecks the {@code /live} and {@code /ready} listener ({@code health_checks})
 * @param hint which SVID to write when the agent gives several ({@code hint}; empty: the first)
 * @param agentAddressSource where {@code agentAddress} came from, for messages: the {@code
 *     agent_address} key or flag, {@code SPIRE_AGENT_ADDRESS}, {@code SPIFFE_ENDPOINT_SOCKET}, or
 *     the default
 */
public record HelperConfig(
    WorkloadApiAddress agentAddress,
    Path certDir,
    Optional<X509Output> x509,
    List<JwtSvidOutput> jwtSvids,
    Optional<String> jwtBundleFileName,
    FileSettings files,
    Reload reload,
    boolean daemonMode,
    HealthChecks healthChecks,
    String hint,
    String agentAddressSource) {

  public HelperConfig {
    requireNonNull(agentAddress, "agentAddress");
    requireNonNull(certDir, "certDir");
    requireNonNull(x509, "x509");
    jwtSvids = List.copyOf(requireNonNull(jwtSvids, "jwtSvids"));
    requireNonNull(jwtBundleFileName, "jwtBundleFileName");
    requireNonNull(files, "files");
    requireNonNull(reload, "reload");
    requireNonNull(healthChecks, "healthChecks");
    requireNonNull(hint, "hint");
    requireNonNull(agentAddressSource, "agentAddressSource");
    if (!certDir.isAbsolute()) {
      throw new IllegalArgumentException("certDir: " + certDir + " (expected: an absolute path)");
    }
    if (x509.isEmpty() && jwtSvids.isEmpty() && jwtBundleFileName.isEmpty()) {
      throw new IllegalArgumentException("nothing to write (expected: X.509 files, JWT-SVIDs or a JWT bundle)");
    }
  }

  /** A configuration whose agent address was given as {@code agent_address}. */
  public HelperConfig(WorkloadApiAddress agentAddress, Path certDir, Optional<X509Output> x509,
      List<JwtSvidOutput> jwtSvids, Optional<String> jwtBundleFileName, FileSettings files, Reload reload,
      boolean daemonMode, HealthChecks healthChecks, String hint) {
    this(agentAddress, certDir, x509, jwtSvids, jwtBundleFileName, files, reload, daemonMode, healthChecks, hint,
        "agent_address");
  }

  /**
   * The X.509 files. The three PEM names are required together, as spiffe-helper requires.
   *
   * @param svidFileName leaf (and intermediates unless moved to the bundle), PEM
   * @param keyFileName the SVID's private key, PKCS#8 PEM
   * @param bundleFileName trust bundle, PEM
   * @param pkcs8DerKeyFileName the key again as PKCS#8 DER (pgjdbc's {@code .pk8})
   * @param pkcs12 key, chain and trust bundle as a PKCS#12 keystore
   */
  public record X509Output(
      String svidFileName,
      String keyFileName,
      String bundleFileName,
      boolean addIntermediatesToBundle,
      boolean includeFederatedDomains,
      boolean omitExpired,
      Optional<String> pkcs8DerKeyFileName,
      Optional<Pkcs12Output> pkcs12) {

    public X509Output {
      requireNonNull(svidFileName, "svidFileName");
      requireNonNull(keyFileName, "keyFileName");
      requireNonNull(bundleFileName, "bundleFileName");
      requireNonNull(pkcs8DerKeyFileName, "pkcs8DerKeyFileName");
      requireNonNull(pkcs12, "pkcs12");
    }

    /** Every file name this output writes, in the order they are listed in helper.conf. */
    public List<String> fileNames() {
      List<String> names = new java.util.ArrayList<>(List.of(svidFileName, keyFileName, bundleFileName));
      pkcs8DerKeyFileName.ifPresent(names::add);
      pkcs12.ifPresent(p -> names.add(p.fileName()));
      return List.copyOf(names);
    }
  }

  /**
   * A PKCS#12 keystore: the SVID's key with its chain under alias {@code user} (the one pgjdbc reads), and every
   * certificate of the written bundle as a trusted entry.
   *
   * @param passwordFile file whose first line is the password; absent: {@link #DEFAULT_PASSWORD}
   */
  public record Pkcs12Output(String fileName, Optional<Path> passwordFile) {
    /** The password when no password file is configured (the JDK keystores' conventional default). */
    public static final String DEFAULT_PASSWORD = "changeit";

    public Pkcs12Output {
      requireNonNull(fileName, "fileName");
      requireNonNull(passwordFile, "passwordFile");
    }
  }

  /** One {@code jwt_svids} entry. */
  public record JwtSvidOutput(String audience, List<String> extraAudiences, String fileName) {
    public JwtSvidOutput {
      requireNonNull(audience, "audience");
      extraAudiences = List.copyOf(requireNonNull(extraAudiences, "extraAudiences"));
      requireNonNull(fileName, "fileName");
    }
  }

  /**
   * Modes ({@code *_file_mode}) and owners ({@code cert_file_owner}, {@code key_file_owner}). The
   * certificate mode and owner also apply to the bundle; the key's to the DER key and keystore.
   */
  public record FileSettings(
      int certFileMode,
      int keyFileMode,
      int jwtBundleFileMode,
      int jwtSvidFileMode,
      Optional<FileOwner> certFileOwner,
      Optional<FileOwner> keyFileOwner) {

    public FileSettings {
      requireNonNull(certFileOwner, "certFileOwner");
      requireNonNull(keyFileOwner, "keyFileOwner");
    }

    public FileSpec cert() {
      return new FileSpec(certFileMode, certFileOwner);
    }

    public FileSpec key() {
      return new FileSpec(keyFileMode, keyFileOwner);
    }

    public FileSpec jwtBundle() {
      return new FileSpec(jwtBundleFileMode, certFileOwner);
    }

    public FileSpec jwtSvid() {
      return new FileSpec(jwtSvidFileMode, keyFileOwner);
    }
  }

  /**
   * What happens after the files changed: {@code cmd} started after the first write and signalled
   * with {@code renewSignal} afterwards; the process in {@code pidFile} signalled; {@code
   * reloadCmd} run to completion (bounded by {@code reloadCmdTimeout}).
   */
  public record Reload(
      Optional<String> cmd,
      List<String> cmdArgs,
      Optional<Path> pidFile,
      Optional<RenewSignal> renewSignal,
      List<String> reloadCmd,
      Duration reloadCmdTimeout) {

    public Reload {
      requireNonNull(cmd, "cmd");
      cmdArgs = List.copyOf(requireNonNull(cmdArgs, "cmdArgs"));
      requireNonNull(pidFile, "pidFile");
      requireNonNull(renewSignal, "renewSignal");
      reloadCmd = List.copyOf(requireNonNull(reloadCmd, "reloadCmd"));
      requireNonNull(reloadCmdTimeout, "reloadCmdTimeout");
      if ((cmd.isPresent() || pidFile.isPresent()) && renewSignal.isEmpty()) {
        throw new IllegalArgumentException("renewSignal: required with cmd or pidFile");
      }
    }

    /** Nothing to start, signal or run. */
    public static Reload none() {
      return new Reload(Optional.empty(), List.of(), Optional.empty(), Optional.empty(), List.of(),
          Duration.ofSeconds(30));
    }
  }

  /**
   * The health listener: {@code GET livenessPath} and {@code GET readinessPath} on {@code
   * bindAddress:bindPort}, when enabled.
   */
  public record HealthChecks(
      boolean listenerEnabled, String bindAddress, int bindPort, String livenessPath, String readinessPath) {

    public static final int DEFAULT_PORT = 8081;

    public HealthChecks {
      requireNonNull(bindAddress, "bindAddress");
      requireNonNull(livenessPath, "livenessPath");
      requireNonNull(readinessPath, "readinessPath");
    }

    public static HealthChecks disabled() {
      return new HealthChecks(false, "127.0.0.1", DEFAULT_PORT, "/live", "/ready");
    }
  }

  /** The path of an output file. */
  public Path path(String fileName) {
    return certDir.resolve(fileName);
  }
}
