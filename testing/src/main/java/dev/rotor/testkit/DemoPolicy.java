package dev.rotor.testkit;

import java.time.Duration;

/**
 * The demo policy ({@code deploy/policy/demo-policy.yaml}) as a test on one machine runs it: the
 * same file with only its ports and the backend's address substituted, since the Kubernetes
 * ports (8080, 9090, 9001) may be taken here and {@code backend.demo.svc.cluster.local} does
 * not resolve outside a cluster; and, where the SVIDs live shorter than the demo's two minutes,
 * the connection lifetime bound.
 */
public final class DemoPolicy {
  public static final String FILE = "deploy/policy/demo-policy.yaml";

  private DemoPolicy() {}

  /**
   * @param backendPort the backend Envoy's mTLS listener (8080 in the file)
   * @param appPort the backend application (9090)
   * @param frontendPort the frontend Envoy's outbound listener that the frontend application calls (9001)
   * @param backendAddress where the frontend Envoy reaches the backend Envoy, {@code host:port}
   */
  public static TemplateFile onOneMachine(int backendPort, int appPort, int frontendPort, String backendAddress) {
    return TemplateFile.fromFile(RepoRoot.resolve(FILE))
        .replaceOnce("port: 8080 ", "port: " + backendPort + " ")
        .replaceOnce("appPort: 9090 ", "appPort: " + appPort + " ")
        .replaceOnce("port: 9001 ", "port: " + frontendPort + " ")
        .replaceOnce("address: backend.demo.svc.cluster.local:8080", "address: " + backendAddress);
  }

  /**
   * As {@link #onOneMachine(int, int, int, String)}, with {@code maxConnectionDuration} (30s in
   * the file, for the Kubernetes demo's 2-minute SVIDs) set for the SVIDs this machine issues: no
   * connection may outlive the certificate it was made with.
   */
  public static TemplateFile onOneMachine(int backendPort, int appPort, int frontendPort, String backendAddress,
      Duration maxConnectionDuration) {
    return onOneMachine(backendPort, appPort, frontendPort, backendAddress)
        .replaceOnce("maxConnectionDuration: 30s\n", "maxConnectionDuration: " + maxConnectionDuration.toSeconds() + "s\n");
  }
}
