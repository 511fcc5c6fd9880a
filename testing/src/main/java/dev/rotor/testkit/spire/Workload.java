package dev.rotor.testkit.spire;

import static dev.rotor.testkit.spire.SpireFixture.TRUST_DOMAIN_ID;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One workload of a real-SPIRE test on one machine: a SPIFFE ID and the group its processes run
 * under ({@code setpriv --regid}), which the SPIRE agent's {@code unix} attestor tells apart (all
 * run as this test's UID). Never group 0: that is the test JVM itself.
 */
public record Workload(String name, String spiffeId, int gid) {
  public Workload {
    if (gid == 0) {
      throw new IllegalArgumentException("gid 0 is the test JVM's own group");
    }
  }

  public static Workload of(String name, String path, int gid) {
    return new Workload(name, TRUST_DOMAIN_ID + path, gid);
  }

  /** What runs a process as this workload. */
  public List<String> launcher() {
    return List.of("setpriv", "--regid=" + gid, "--clear-groups");
  }

  /** Registers the workload with SPIRE: this test's UID and the workload's group. */
  public void register(SpireFixture spire, Duration svidTtl) {
    register(spire, svidTtl, List.of());
  }

  /** As {@link #register(SpireFixture, Duration)}, with DNS names (the first is also the CN). */
  public void register(SpireFixture spire, Duration svidTtl, List<String> dnsNames) {
    spire.createEntry(spiffeId, List.of("unix:uid:" + SpireFixture.currentUid(), "unix:gid:" + gid), svidTtl,
        dnsNames);
  }

  /** The workload's SVID as files (svid.0.pem, svid.0.key, bundle.0.pem), fetched as the workload. */
  public SvidFiles fetchSvid(SpireFixture spire, Path parent) throws java.io.IOException {
    Path dir = Files.createDirectories(parent.resolve("svid-" + name));
    spire.writeX509Svid(launcher(), spiffeId, dir);
    return new SvidFiles(dir.resolve("svid.0.pem"), dir.resolve("svid.0.key"), dir.resolve("bundle.0.pem"));
  }

  /** An X.509-SVID on disk, as {@code spire-agent api fetch x509 -write} leaves it. */
  public record SvidFiles(Path chain, Path key, Path bundle) {}
}
