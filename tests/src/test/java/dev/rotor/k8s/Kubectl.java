package dev.rotor.k8s;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code kubectl kustomize DIR}: the same build {@code kubectl apply -k} does, offline. Missing
 * kubectl fails the test (it does not skip): CI must run these checks, and .ci/run installs it.
 */
final class Kubectl {
  private static final long TIMEOUT_SECONDS = 60;

  private Kubectl() {}

  /** The repository root: the tests run with the {@code tests} module as working directory. */
  static Path repoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("deploy/policy/demo-policy.yaml"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("cannot find the repository root (deploy/policy/demo-policy.yaml) above "
          + Path.of("").toAbsolutePath());
    }
    return dir;
  }

  /** The rendered YAML of the kustomization in {@code dir}; fails with kubectl's own error text. */
  static String kustomize(Path dir) {
    ProcessBuilder pb = new ProcessBuilder(List.of("kubectl", "kustomize", dir.toString()));
    Path stderr;
    try {
      stderr = Files.createTempFile("kustomize", ".err");
      pb.redirectError(stderr.toFile());
    } catch (IOException e) {
      throw new IllegalStateException("cannot create a temp file for kubectl's stderr", e);
    }
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new AssertionError("kubectl is not on PATH (" + e.getMessage() + "). The Kubernetes manifest tests need"
          + " kubectl >= 1.27 (its built-in kustomize renders deploy/kustomize offline); .ci/run must install it.", e);
    }
    try {
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("kubectl kustomize " + dir + " did not finish within " + TIMEOUT_SECONDS + "s");
      }
      String err = Files.readString(stderr, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new AssertionError("kubectl kustomize " + dir + " failed (exit " + p.exitValue() + "):\n" + err);
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("reading kubectl's output", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for kubectl", e);
    } finally {
      try {
        Files.deleteIfExists(stderr);
      } catch (IOException ignored) {
        // a temp file left behind is harmless
      }
    }
  }
}
