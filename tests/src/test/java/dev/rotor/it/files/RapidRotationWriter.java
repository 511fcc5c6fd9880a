package dev.rotor.it.files;

import dev.rotor.files.FileWriterService;
import dev.rotor.files.HelperConfig;
import dev.rotor.files.HelperConfigParser;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.source.dev.DevCa;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A child process for {@link FileWriterCrashIT}: Rotor's real file writer ({@code
 * FileWriterService}, as {@code rotor write-certs} runs it) publishing a new identity the moment
 * the previous one is on disk, forever, and printing {@code written N} after each. The test kills
 * it with SIGKILL at a random one of those moments, with the next write already under way.
 *
 * <p>Usage: {@code java -cp rotor.jar:test-classes dev.rotor.it.files.RapidRotationWriter CERT_DIR}
 */
public final class RapidRotationWriter {
  static final String CERT = "svid.pem";
  static final String KEY = "svid.key";
  static final String BUNDLE = "bundle.pem";

  private RapidRotationWriter() {}

  public static void main(String[] args) {
    Path certDir = Path.of(args[0]);
    HelperConfig config = HelperConfigParser.parse(String.join("\n",
            "cert_dir = \"" + certDir + "\"",
            "svid_file_name = \"" + CERT + "\"",
            "svid_key_file_name = \"" + KEY + "\"",
            "svid_bundle_file_name = \"" + BUNDLE + "\""),
        "crash-test.conf", Map.of(), Map.of(), Path.of(""));
    TrustDomain td = TrustDomain.parse("example.org");
    SpiffeId id = SpiffeId.parse("spiffe://example.org/db");
    DevCa ca = new DevCa(td, Duration.ofDays(1), Duration.ofHours(1), Clock.systemUTC());
    try (FileWriterService writer = FileWriterService.start(config)) {
      for (long n = 1; ; n++) {
        if (n % 50 == 0) {
          ca.rotateCa(); // the bundle file changes too, now and then
        }
        writer.onServed(IdentitySnapshot.of(List.of(ca.issue(id, Duration.ofHours(1))), Map.of(td, ca.bundle())));
        long target = n;
        while (writer.status().writes() < target) {
          if (writer.status().lastError().isPresent()) {
            throw new IllegalStateException("write failed: " + writer.status().lastError().get());
          }
          Thread.onSpinWait();
        }
        System.out.println("written " + n);
      }
    }
  }
}
