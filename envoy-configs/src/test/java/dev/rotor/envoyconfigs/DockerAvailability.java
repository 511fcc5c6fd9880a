package dev.rotor.envoyconfigs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.testcontainers.DockerClientFactory;

/** Whether Testcontainers can reach a Docker daemon, and if not, why. */
final class DockerAvailability {

  private static final String DEFAULT_SOCKET = "/var/run/docker.sock";

  private DockerAvailability() {}

  /** Empty when Docker is usable; otherwise the reason, for a skipped test's message. */
  static Optional<String> unavailableReason() {
    try {
      DockerClientFactory.instance().client();
      return Optional.empty();
    } catch (RuntimeException e) {
      // Testcontainers says "Could not find a valid Docker environment"; the strategies it tried
      // and why each failed are in the cause chain and its log.
      StringBuilder why = new StringBuilder(String.valueOf(e.getMessage()));
      for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
        why.append("; ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
      }
      String dockerHost = System.getenv("DOCKER_HOST");
      why.append(" (DOCKER_HOST ").append(dockerHost == null ? "is not set" : "is " + dockerHost)
          .append(", ").append(DEFAULT_SOCKET)
          .append(Files.exists(Path.of(DEFAULT_SOCKET)) ? " exists" : " does not exist").append(')');
      return Optional.of(why.toString());
    }
  }
}
