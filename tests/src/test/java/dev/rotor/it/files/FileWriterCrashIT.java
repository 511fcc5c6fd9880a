package dev.rotor.it.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.it.SecretMaterial;
import dev.rotor.testkit.KeyPairs;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Rotor's file writer killed with SIGKILL at random moments during 1,000 rapid rotations on a
 * tmpfs ({@code /dev/shm}): after every kill, the certificate, key and bundle in place parse, the
 * key is the certificate's, and the certificate verifies against the bundle. A restarted writer
 * carries on from what is in place.
 */
class FileWriterCrashIT {
  private static final int ROTATIONS = 1_000;
  private static final int MAX_KILLS = 200;
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private Path workDir;
  private Path certDir;

  @BeforeEach
  void createDirs() throws IOException {
    workDir = Files.createTempDirectory(Path.of("/tmp"), "rotor-crash-");
    certDir = Files.createTempDirectory(Path.of("/dev/shm"), "rotor-crash-");
  }

  @AfterEach
  void deleteDirs() throws IOException {
    for (Path root : List.of(workDir, certDir)) {
      try (Stream<Path> files = Files.walk(root)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @Test
  void sigkillDuringRapidRotations_leavesAParsingMatchingPairAfterEveryKill() throws Exception {
    assertThat(Files.getFileStore(certDir).type()).as("file system of %s", certDir).isEqualTo("tmpfs");
    long seed = System.nanoTime();
    Random random = new Random(seed);
    long rotations = 0;
    int kills = 0;
    List<Integer> perRun = new ArrayList<>();
    while (rotations < ROTATIONS && kills < MAX_KILLS) {
      ManagedProcess writer = startWriter("writer-" + kills);
      int killAfter = 1 + random.nextInt(60);
      try {
        await("writer run " + kills + " to write " + killAfter + " rotations").atMost(START_TIMEOUT)
            .pollInterval(Duration.ofMillis(1))
            .until(() -> {
              writer.checkAlive("rotating");
              return written(writer) >= killAfter;
            });
      } finally {
        writer.kill(); // the next write is already under way
      }
      kills++;
      int n = written(writer);
      perRun.add(n);
      rotations += n;
      assertPairInPlace("after kill " + kills + " (seed " + seed + ", " + n + " rotations in that run)");
    }
    long versionDirs = versionDirectories();
    System.out.printf("file writer SIGKILL: %d kills during %d rotations on tmpfs (per run %s, seed %d);"
        + " every pair in place matched; %d version directories left%n", kills, rotations, perRun, seed, versionDirs);
    assertThat(rotations).as("rotations written across all runs").isGreaterThanOrEqualTo(ROTATIONS);
  }

  private ManagedProcess startWriter(String name) {
    List<String> command = List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", rotorJar() + ":" + testClasses(),
        RapidRotationWriter.class.getName(),
        certDir.toString());
    return ManagedProcess.start(name, command, workDir.resolve(name + ".out"), workDir.resolve(name + ".err"));
  }

  private static int written(ManagedProcess writer) throws IOException {
    List<String> lines = Files.readAllLines(writer.stdout(), StandardCharsets.UTF_8);
    for (int i = lines.size() - 1; i >= 0; i--) {
      if (lines.get(i).startsWith("written ")) {
        return Integer.parseInt(lines.get(i).substring("written ".length()).strip());
      }
    }
    return 0;
  }

  private void assertPairInPlace(String when) throws IOException {
    byte[] certPem = Files.readAllBytes(certDir.resolve(RapidRotationWriter.CERT));
    byte[] keyPem = Files.readAllBytes(certDir.resolve(RapidRotationWriter.KEY));
    byte[] bundlePem = Files.readAllBytes(certDir.resolve(RapidRotationWriter.BUNDLE));
    List<X509Certificate> chain = SecretMaterial.certificates(certPem);
    X509Certificate leaf = chain.get(0);
    PrivateKey key = pkcs8(keyPem, leaf, when);
    assertThat(KeyPairs.matches(key, leaf)).as("%s: the key in place is %s's", when, SecretMaterial.id(leaf))
        .isTrue();
    SecretMaterial.verifyChain(chain, SecretMaterial.certificates(bundlePem), Instant.now());
  }

  private static PrivateKey pkcs8(byte[] pem, X509Certificate cert, String when) {
    String text = new String(pem, StandardCharsets.US_ASCII);
    assertThat(text).as("%s: the key file", when).contains("-----BEGIN PRIVATE KEY-----");
    try {
      return KeyFactory.getInstance(cert.getPublicKey().getAlgorithm()).generatePrivate(new PKCS8EncodedKeySpec(
          Base64.getMimeDecoder().decode(text.replaceAll("-----[A-Z ]+-----", ""))));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new AssertionError(when + ": the key file does not parse: " + e.getClass().getSimpleName());
    }
  }

  private long versionDirectories() throws IOException {
    try (Stream<Path> entries = Files.list(certDir)) {
      return entries.filter(p -> p.getFileName().toString().startsWith("..2")).count();
    }
  }

  private static String rotorJar() {
    return Path.of(System.getProperty("rotor.repo.root"), "sds-server", "target", "rotor.jar").toAbsolutePath()
        .normalize().toString();
  }

  private static String testClasses() {
    try {
      return Path.of(RapidRotationWriter.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
