package dev.rotor.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EmptyDirVolumeSource;
import dev.rotor.k8s.DemoCrossReferenceTest.Defect;
import io.fabric8.kubernetes.api.model.storage.CSIDriver;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * deploy/kustomize/overlays/node: the demo with one node-mode Rotor per node instead of sidecars.
 * It passes every check the other overlays pass (DemoChecks, which include the node checks), its
 * pods are what node mode needs, and each node check catches the mistake it is there for.
 */
class NodeOverlayTest {

  @Test
  void nodeOverlay_passesEveryCheck() {
    assertThat(DemoChecks.all(Fixtures.node())).isEmpty();
  }

  @Test
  void theNodeChecksLookAtWhatTheyClaimTo() {
    RenderedDemo node = Fixtures.node();
    RenderedDemo.Workload rotor = node.workload("spire", "rotor-node").orElseThrow();
    assertThat(rotor.kind()).isEqualTo("DaemonSet");
    assertThat(NodeModeChecks.nodeRotor(rotor)).isPresent();
    // The Envoy pods have no Rotor serving them in the pod any more: the node's does.
    for (String pod : List.of("frontend", "backend")) {
      RenderedDemo.Workload w = node.workload("demo", pod).orElseThrow();
      assertThat(DemoChecks.rotorServe(w)).as(pod + " has no Rotor sidecar serving Envoy").isEmpty();
      assertThat(w.volume("rotor-socket").orElseThrow().getCsi().getDriver()).isEqualTo("csi.rotor.dev");
    }
    assertThat(node.workload("demo", "frontend").orElseThrow().volume("spiffe-workload-api"))
        .as("the frontend no longer mounts the SPIRE agent's socket").isEmpty();
    assertThat(DemoChecks.flag(node.workload("demo", "backend").orElseThrow().container("rotor").orElseThrow(),
        "--config")).as("the backend keeps a file writer for its database files")
        .containsExactly("/etc/rotor/helper/helper.conf");
    assertThat(node.find(CSIDriver.class, null, "csi.rotor.dev")).isPresent();
    assertThat(node.registrations().bySpiffeId("spiffe://example.org/ns/spire/sa/rotor-node")).isPresent();
  }

  static Stream<Arguments> defects() {
    return Stream.of(
        new Defect("node Rotor without hostPID",
            d -> rotor(d).spec().setHostPID(false),
            NodeModeChecks::agentAdminApiAgrees,
            "spire/DaemonSet/rotor-node: node-mode Rotor runs without hostPID"),
        new Defect("Rotor asks another admin socket than the agent serves",
            d -> DemoCrossReferenceTest.replaceArg(rotorContainer(d),
                "--delegated-identity-api=unix:///run/spire/agent-admin/admin.sock",
                "--delegated-identity-api=unix:///run/spire/agent-admin/api.sock"),
            NodeModeChecks::agentAdminApiAgrees,
            "Rotor's --delegated-identity-api is host path /run/spire/agent-admin/api.sock but the agent's"
                + " admin_socket_path /run/spire/agent-admin/admin.sock is host path /run/spire/agent-admin/admin.sock"),
        new Defect("admin socket in the directory pods mount",
            d -> editAgentConf(d, t -> t.replace("admin_socket_path = \"/run/spire/agent-admin/admin.sock\"",
                "admin_socket_path = \"/run/spire/agent-sockets/admin/admin.sock\"")),
            NodeModeChecks::agentAdminApiAgrees,
            "is in the Workload API socket's directory /run/spire/agent-sockets, which every pod may mount"),
        new Defect("Rotor is not an authorized delegate",
            d -> editAgentConf(d, t -> t.replace("\"spiffe://example.org/ns/spire/sa/rotor-node\"",
                "\"spiffe://example.org/ns/spire/sa/rotor\"")),
            NodeModeChecks::agentAdminApiAgrees,
            "runs as spiffe://example.org/ns/spire/sa/rotor-node, which agent.conf's authorized_delegates does not list"),
        new Defect("Envoy's socket on an emptyDir instead of the node socket",
            d -> {
              var v = d.workload("demo", "frontend").orElseThrow().volume("rotor-socket").orElseThrow();
              v.setCsi(null);
              v.setEmptyDir(new EmptyDirVolumeSource("Memory", null));
            },
            NodeModeChecks::envoysReachTheNodeSocket,
            "demo/Deployment/frontend: container envoy reaches /run/rotor/sds.sock through volume rotor-socket, not a"
                + " CSI volume"),
        new Defect("the CSI driver hands out another directory than Rotor serves in",
            d -> DemoCrossReferenceTest.replaceArg(d.workload("spire", "rotor-csi-driver").orElseThrow()
                .container("spiffe-csi-driver").orElseThrow(), "/rotor-node-socket", "/rotor-csi"),
            NodeModeChecks::envoysReachTheNodeSocket,
            "Envoy connects to /run/rotor/sds.sock, host path /var/lib/kubelet/plugins/csi.rotor.dev/sds.sock, but"
                + " node-mode Rotor serves host path /run/rotor-node/sds.sock"),
        new Defect("an Envoy UID node Rotor does not admit",
            d -> d.workload("demo", "backend").orElseThrow().container("envoy").orElseThrow().getSecurityContext()
                .setRunAsUser(1337L),
            NodeModeChecks::envoysReachTheNodeSocket,
            "demo/Deployment/backend: envoy runs as UID 1337, which node-mode Rotor's --allowed-uid [101] refuses"),
        new Defect("an Envoy whose node id names another workload than its attested identity",
            d -> DemoCrossReferenceTest.editConfigMap(d, "demo", "envoy-frontend", "envoy.yaml",
                t -> t.replace("  id: frontend", "  id: backend")),
            NodeModeChecks::envoysReachTheNodeSocket,
            "Envoy's node id backend names the policy's workload backend ([spiffe://example.org/ns/demo/sa/backend]),"
                + " not the pod's attested spiffe://example.org/ns/demo/sa/frontend"))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("defects")
  void eachNodeCheck_catchesItsMistake(Defect defect) {
    DemoCrossReferenceTest.assertCatches(defect, Fixtures.node());
  }

  private static RenderedDemo.Workload rotor(RenderedDemo d) {
    return d.workload("spire", "rotor-node").orElseThrow();
  }

  private static Container rotorContainer(RenderedDemo d) {
    return rotor(d).container("rotor").orElseThrow();
  }

  private static void editAgentConf(RenderedDemo d, Function<String, String> edit) {
    DemoCrossReferenceTest.editConfigMap(d, "spire", "spire-agent", "agent.conf", edit);
  }
}
