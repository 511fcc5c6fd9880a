package dev.rotor.it.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.it.SecretMaterial.CertId;
import dev.rotor.it.SecretMaterial;
import dev.rotor.testkit.KeyPairs;
import dev.rotor.testkit.process.ManagedProcess;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code rotor write-certs --dev} (a rotation every 5 s) writing into a 256 KiB tmpfs that the
 * test fills up and then remounts read-only. In each fault the files in place stay a valid,
 * matching pair, {@code /ready} turns false, the error is logged once however often the write is
 * retried, and writing resumes by itself when the fault is cleared. Needs root (it mounts); skipped
 * where {@code mount} is not permitted.
 */
class FileWriterDiskFaultIT {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  /** Failed attempts (retries and new rotations) to watch before counting log lines. */
  private static final int ATTEMPTS = 3;
  private static final Pattern FAILURES = Pattern.compile("\"failures\"\\s*:\\s*(\\d+)");

  private Path workDir;
  private Path certDir;
  private boolean mounted;
  private ManagedProcess writer;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private URI ready;

  @BeforeEach
  void mountSmallTmpfs() throws Exception {
    workDir = Files.createTempDirectory(Path.of("/tmp"), "rotor-disk-");
    certDir = Files.createDirectory(workDir.resolve("certs"));
    int status = run("mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", certDir.toString());
    Assumptions.assumeTrue(status == 0, "mount -t tmpfs is not permitted here (exit " + status + ")");
    mounted = true;
  }

  @AfterEach
  void cleanUp() throws Exception {
    if (writer != null) {
      writer.close();
    }
    if (mounted) {
      run("umount", certDir.toString());
    }
    try (Stream<Path> files = Files.walk(workDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void fullFileSystemThenReadOnly_filesStayIntactReadyTurnsFalseErrorLoggedOnceWritingResumes() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    ready = URI.create("http://127.0.0.1:" + port + "/ready");
    writer = ManagedProcess.start("write-certs", List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", rotorJar(), "write-certs",
        "--dev", "--spiffe-id", "spiffe://example.org/db", "--svid-ttl", "10s",
        "--cert-dir", certDir.toString(), "--svid-file-name", "svid.pem", "--svid-key-file-name", "svid.key",
        "--svid-bundle-file-name", "bundle.pem", "--health-checks", "--health-bind-port", Integer.toString(port)),
        workDir.resolve("write-certs.out"), workDir.resolve("write-certs.err"));
    awaitReady(true);

    // Full: the next rotation cannot be written.
    CertId beforeFull = assertPairInPlace("before the file system fills");
    Path filler = workDir.resolve("certs/filler");
    fill(filler);
    String fullError = awaitFailingAttempts("No space left on device");
    assertThat(assertPairInPlace("while the file system is full")).as("the certificate in place").isNotNull();
    assertThat(errorLines("No space left on device")).as("ERROR lines for the full file system").hasSize(1);
    Files.delete(filler);
    awaitReady(true);
    CertId afterFull = assertPairInPlace("after space returned");
    assertThat(afterFull).as("the certificate in place once space returned").isNotEqualTo(beforeFull);

    // Read-only: the same.
    assertThat(run("mount", "-o", "remount,ro", certDir.toString())).as("remount read-only").isZero();
    String readOnlyError = awaitFailingAttempts("Read-only file system");
    assertPairInPlace("while the file system is read-only");
    assertThat(errorLines("Read-only file system")).as("ERROR lines for the read-only file system").hasSize(1);
    assertThat(run("mount", "-o", "remount,rw", certDir.toString())).as("remount read-write").isZero();
    awaitReady(true);
    assertThat(assertPairInPlace("after the file system is writable again")).isNotEqualTo(afterFull);
    System.out.printf("file writer disk faults: full -> %s; read-only -> %s; each logged once, ready again after%n",
        fullError, readOnlyError);
  }

  /** Waits for /ready to turn 503 naming {@code error}, then for more failed attempts; returns the error. */
  private String awaitFailingAttempts(String error) {
    AtomicReference<String> body = new AtomicReference<>("");
    await("/ready to report " + error).atMost(TIMEOUT).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
      HttpResponse<String> r = get();
      body.set(r.body());
      assertThat(r.statusCode()).as("/ready: %s", r.body()).isEqualTo(503);
      assertThat(r.body()).contains(error);
    });
    long failuresAtFirst = failures(body.get());
    await(ATTEMPTS + " more failed attempts").atMost(TIMEOUT).pollInterval(Duration.ofMillis(200))
        .until(() -> failures(get().body()) >= failuresAtFirst + ATTEMPTS);
    return error;
  }

  private void awaitReady(boolean expected) {
    await("/ready to answer " + (expected ? 200 : 503)).atMost(TIMEOUT).pollInterval(Duration.ofMillis(200))
        .ignoreException(java.net.ConnectException.class) // the listener starts with the writer
        .untilAsserted(() -> {
          writer.checkAlive("waiting for /ready");
          HttpResponse<String> r = get();
          assertThat(r.statusCode()).as("/ready: %s", r.body()).isEqualTo(expected ? 200 : 503);
        });
  }

  private HttpResponse<String> get() throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static long failures(String body) {
    Matcher m = FAILURES.matcher(body);
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  private List<String> errorLines(String error) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(writer.stdout(), StandardCharsets.UTF_8)) {
      if (line.contains("\"ERROR\"") && line.contains(error)) {
        out.add(line);
      }
    }
    return out;
  }

  /** Writes zeros into {@code filler} until the file system refuses more. */
  private static void fill(Path filler) {
    byte[] block = new byte[4096];
    try (OutputStream out = Files.newOutputStream(filler)) {
      for (int i = 0; i < 1_000; i++) {
        out.write(block);
        out.flush();
      }
      throw new AssertionError("wrote 4 MB into a 256 KiB tmpfs without running out of space");
    } catch (IOException full) {
      assertThat(full.getMessage()).contains("No space left on device");
    }
  }

  private CertId assertPairInPlace(String when) throws Exception {
    List<X509Certificate> chain = SecretMaterial.certificates(Files.readAllBytes(certDir.resolve("svid.pem")));
    X509Certificate leaf = chain.get(0);
    String keyPem = Files.readString(certDir.resolve("svid.key"), StandardCharsets.US_ASCII);
    PrivateKey key = KeyFactory.getInstance(leaf.getPublicKey().getAlgorithm()).generatePrivate(
        new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(keyPem.replaceAll("-----[A-Z ]+-----", ""))));
    assertThat(KeyPairs.matches(key, leaf)).as("%s: the key in place is the certificate's", when).isTrue();
    SecretMaterial.certificates(Files.readAllBytes(certDir.resolve("bundle.pem")));
    return SecretMaterial.id(leaf);
  }

  private static int run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return -1;
    }
    return p.exitValue();
  }

  private static String rotorJar() {
    return Path.of(System.getProperty("rotor.repo.root"), "sds-server", "target", "rotor.jar").toAbsolutePath()
        .normalize().toString();
  }
}
