package dev.rotor.k8s;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code kubectl kustomize DIR}: the same build {@code kubectl apply -k} does, offline; where
 * kubectl is missing, the standalone {@code kustomize build DIR} (v5) does the same. Missing both
 * fails the test (it does not skip): CI must run these checks, so .ci/run must provide one.
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

  /** The rendered YAML of the kustomization in {@code dir}; fails with the tool's own error text. */
  static String kustomize(Path dir) {
    try {
      return run(List.of("kubectl", "kustomize", dir.toString()));
    } catch (CommandNotFound kubectlMissing) {
      try {
        return run(List.of("kustomize", "build", dir.toString()));
      } catch (CommandNotFound kustomizeMissing) {
        throw new AssertionError("neither kubectl nor kustomize is on PATH. The Kubernetes manifest tests render"
            + " deploy/kustomize with kubectl >= 1.27 (its built-in kustomize v5) or a standalone kustomize v5;"
            + " .ci/run must install one (Debian's kubernetes-client, 1.20, is too old).");
      }
    }
  }

  private static final class CommandNotFound extends Exception {
    CommandNotFound(IOException cause) {
      super(cause);
    }
  }

  private static String run(List<String> command) throws CommandNotFound {
    ProcessBuilder pb = new ProcessBuilder(command);
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
      throw new CommandNotFound(e);
    }
    try {
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + "s");
      }
      String err = Files.readString(stderr, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new AssertionError(String.join(" ", command) + " failed (exit " + p.exitValue() + "):\n" + err);
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("reading the output of " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + String.join(" ", command), e);
    } finally {
      try {
        Files.deleteIfExists(stderr);
      } catch (IOException ignored) {
        // a temp file left behind is harmless
      }
    }
  }
}
