package dev.rotor.runtime;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import dev.rotor.files.FileWriterService;
import dev.rotor.files.HelperConfig;
import dev.rotor.gate.GatePolicy;
import dev.rotor.gate.IdentityGate;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.source.IdentityListener;
import dev.rotor.source.IdentitySource;
import dev.rotor.source.dev.DevCaOptions;
import dev.rotor.source.dev.DevCaSource;
import dev.rotor.source.workload.WorkloadApiSource;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running {@code rotor write-certs}: identity source (SPIRE agent or development CA) → identity
 * gate → {@link FileWriterService}. The writer only ever sees snapshots the gate accepted.
 */
public final class WriteCertsRuntime implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WriteCertsRuntime.class);

  /**
   * @param helper what to write and how
   * @param dev the development CA's settings instead of the SPIRE agent at {@code
   *     helper.agentAddress()}
   * @param gatePolicy what identities the gate lets through
   */
  public record Options(HelperConfig helper, Optional<DevCaOptions> dev, GatePolicy gatePolicy) {
    public Options {
      requireNonNull(helper, "helper");
      requireNonNull(dev, "dev");
      requireNonNull(gatePolicy, "gatePolicy");
    }
  }

  private final ScheduledExecutorService scheduler;
  private final FileWriterService writer;
  /** Absent when only JWT files are configured: the X.509 stream would feed nothing. */
  private final IdentityGate gate;
  private final IdentitySource source;
  private final AtomicReference<String> lastSourceError = new AtomicReference<>();

  private WriteCertsRuntime(Options options) {
    scheduler = Executors.newSingleThreadScheduledExecutor(
        new ThreadFactoryBuilder().setNameFormat("rotor-source").setDaemon(true).build());
    FileWriterService w = null;
    IdentitySource s = null;
    try {
      w = FileWriterService.start(options.helper());
      if (options.helper().x509().isPresent()) {
        gate = new IdentityGate(options.gatePolicy(), Clock.systemUTC(), scheduler, w);
        s = options.dev().<IdentitySource>map(d -> new DevCaSource(d, Clock.systemUTC(), scheduler))
            .orElseGet(() -> WorkloadApiSource.connect(options.helper().agentAddress(), scheduler, new SecureRandom()));
      } else {
        gate = null;
      }
    } catch (RuntimeException e) {
      if (w != null) {
        w.close();
      }
      scheduler.shutdownNow();
      throw e;
    }
    writer = w;
    source = s;
  }

  /** Starts delivering identities to the writer. Bad settings surface as exceptions before anything runs. */
  public static WriteCertsRuntime start(Options options) {
    WriteCertsRuntime rt = new WriteCertsRuntime(options);
    if (rt.source == null) {
      return rt;
    }
    rt.source.start(new IdentityListener() {
      @Override
      public void onSnapshot(IdentitySnapshot candidate) {
        rt.gate.onSnapshot(candidate);
      }

      @Override
      public void onSourceError(String reason, Throwable cause) {
        rt.lastSourceError.set(reason);
        rt.gate.onSourceError(reason, cause);
      }
    });
    log.atInfo().addKeyValue("source", rt.source.describe())
        .addKeyValue("cert_dir", options.helper().certDir().toString())
        .addKeyValue("daemon_mode", options.helper().daemonMode())
        .log("rotor write-certs started");
    return rt;
  }

  public FileWriterService writer() {
    return writer;
  }

  /** The gate in front of the X.509 files; empty when only JWT files are written. */
  public Optional<IdentityGate> gate() {
    return Optional.ofNullable(gate);
  }

  /**
   * Why nothing was written yet, as well as it is known: the writer's last error, else the source's,
   * else the gate's.
   */
  public String lastProblem() {
    Optional<String> w = writer.status().lastError();
    if (w.isPresent()) {
      return w.get();
    }
    String s = lastSourceError.get();
    if (s != null) {
      return s;
    }
    if (gate == null) {
      return "no JWT-SVID received yet";
    }
    return gate.status().unhealthyReason().orElse("no identity received from " + source.describe());
  }

  @Override
  public void close() {
    if (source != null) {
      source.close();
    }
    writer.close();
    scheduler.shutdownNow();
  }
}
