package dev.rotor.testkit;

/**
 * The demo policy ({@code deploy/policy/demo-policy.yaml}) as a test on one machine runs it: the
 * same file with only its ports and the backend's address substituted, since the Kubernetes
 * ports (8080, 9090, 9001) may be taken here and {@code backend.demo.svc.cluster.local} does
 * not resolve outside a cluster.
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
}
