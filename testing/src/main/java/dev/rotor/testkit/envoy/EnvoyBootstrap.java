package dev.rotor.testkit.envoy;

import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.TemplateFile;
import java.nio.file.Path;

/** The demo's Envoy bootstraps ({@code envoy-configs/}) as a test runs them. */
public final class EnvoyBootstrap {
  /** The Rotor socket path the demo bootstraps name (Rotor's default {@code --sds-socket}). */
  public static final String DEMO_SOCKET = "/run/rotor/sds.sock";
  /** The admin port line of the demo bootstraps. */
  public static final String DEMO_ADMIN_PORT = "port_value: 9901";

  private EnvoyBootstrap() {}

  /**
   * {@code envoy-configs/<file>} (e.g. {@code backend-envoy.yaml}) with only its Rotor socket
   * replaced by {@code socket} and its admin port by 0 (the kernel picks a free one, which {@link
   * EnvoyProcess} reads back from Envoy's {@code --admin-address-path} file).
   */
  public static TemplateFile demo(String file, Path socket) {
    return TemplateFile.fromFile(RepoRoot.resolve("envoy-configs").resolve(file))
        .replaceOnce(DEMO_SOCKET, socket.toString())
        .replaceOnce(DEMO_ADMIN_PORT, "port_value: 0");
  }
}
