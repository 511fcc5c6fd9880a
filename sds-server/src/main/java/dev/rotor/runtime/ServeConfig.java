package dev.rotor.runtime;

import static java.util.Objects.requireNonNull;

import dev.rotor.admin.AdminOptions;
import dev.rotor.gate.GatePolicy;
import dev.rotor.protocol.StreamLimits;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.source.workload.WorkloadApiAddress;
import dev.rotor.transport.TcpMtlsOptions;
import dev.rotor.transport.UdsServerOptions;
import dev.rotor.xds.secret.SecretNaming;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Everything {@code rotor serve} needs, validated. Exactly one identity source: the development CA
 * or a SPIRE agent. With a policy file, listeners and clusters are served over ADS/LDS/CDS too; with
 * a helper config, the served identities are also written to files (docs/file-writer.md). The admin
 * endpoint (health, metrics, status) listens where {@code admin} says, if anywhere. What the xDS
 * streams may hold, over every transport, is bounded by {@code streamLimits}.
 */
public record ServeConfig(
    Optional<DevCaOptions> dev,
    Optional<WorkloadApiAddress> workloadApi,
    Duration workloadApiWait,
    GatePolicy gatePolicy,
    UdsServerOptions uds,
    Optional<TcpMtlsOptions> tcp,
    SecretNaming naming,
    boolean spiffeValidationDisabled,
    Optional<Path> policyFile,
    Duration policyPollInterval,
    AdminOptions admin,
    Optional<dev.rotor.files.HelperConfig> fileWriter,
    StreamLimits streamLimits) {

  /** With the default {@link StreamLimits} (--max-streams, --max-node-bytes). */
  public ServeConfig(Optional<DevCaOptions> dev, Optional<WorkloadApiAddress> workloadApi, Duration workloadApiWait,
      GatePolicy gatePolicy, UdsServerOptions uds, Optional<TcpMtlsOptions> tcp, SecretNaming naming,
      boolean spiffeValidationDisabled, Optional<Path> policyFile, Duration policyPollInterval, AdminOptions admin,
      Optional<dev.rotor.files.HelperConfig> fileWriter) {
    this(dev, workloadApi, workloadApiWait, gatePolicy, uds, tcp, naming, spiffeValidationDisabled, policyFile,
        policyPollInterval, admin, fileWriter, StreamLimits.DEFAULTS);
  }

  /** Without a file writer (--helper-config). */
  public ServeConfig(Optional<DevCaOptions> dev, Optional<WorkloadApiAddress> workloadApi, Duration workloadApiWait,
      GatePolicy gatePolicy, UdsServerOptions uds, Optional<TcpMtlsOptions> tcp, SecretNaming naming,
      boolean spiffeValidationDisabled, Optional<Path> policyFile, Duration policyPollInterval, AdminOptions admin) {
    this(dev, workloadApi, workloadApiWait, gatePolicy, uds, tcp, naming, spiffeValidationDisabled, policyFile,
        policyPollInterval, admin, Optional.empty());
  }

  /** Where Envoy finds Rotor by default; the Envoy bootstraps in envoy-configs/ use the same path. */
  public static final String DEFAULT_SDS_SOCKET = "/run/rotor/sds.sock";

  public ServeConfig {
    requireNonNull(dev, "dev");
    requireNonNull(workloadApi, "workloadApi");
    requireNonNull(workloadApiWait, "workloadApiWait");
    requireNonNull(gatePolicy, "gatePolicy");
    requireNonNull(uds, "uds");
    requireNonNull(tcp, "tcp");
    requireNonNull(naming, "naming");
    requireNonNull(policyFile, "policyFile");
    requireNonNull(policyPollInterval, "policyPollInterval");
    requireNonNull(admin, "admin");
    requireNonNull(fileWriter, "fileWriter");
    requireNonNull(streamLimits, "streamLimits");
    if (dev.isPresent() == workloadApi.isPresent()) {
      throw new IllegalArgumentException("identity source: exactly one of dev or workloadApi (got "
          + (dev.isPresent() ? "both" : "neither") + ")");
    }
  }
}
