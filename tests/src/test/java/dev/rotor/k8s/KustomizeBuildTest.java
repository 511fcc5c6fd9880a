package dev.rotor.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every overlay builds with the kustomize built into kubectl (as {@code kubectl apply -k} would),
 * and every object of the result is a well-formed Kubernetes object of its kind.
 */
class KustomizeBuildTest {

  static Stream<String> overlays() {
    return Stream.of("deploy/kustomize/overlays/demo", "deploy/kustomize/overlays/rogue",
        "deploy/kustomize/overlays/node");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("overlays")
  void overlay_buildsAndDecodesStrictly(String overlay) {
    String yaml = Kubectl.kustomize(Kubectl.repoRoot().resolve(overlay));

    List<HasMetadata> objects = StrictKubernetesDecoder.decodeAll(yaml);

    assertThat(objects).isNotEmpty();
    assertThat(objects).allSatisfy(o -> assertThat(o.getMetadata().getName()).as("every object has a name").isNotBlank());
    assertThat(objects).filteredOn(o -> !(o instanceof Namespace) && isNamespaced(o))
        .allSatisfy(o -> assertThat(o.getMetadata().getNamespace()).as(o.getKind() + " " + o.getMetadata().getName()
            + " has a namespace").isIn("spire", "demo"));
  }

  private static boolean isNamespaced(HasMetadata o) {
    return !List.of("ClusterRole", "ClusterRoleBinding", "CSIDriver", "Namespace").contains(o.getKind());
  }

  @Test
  void demoOverlay_putsSpireAndWorkloadsInTheirNamespaces() {
    RenderedDemo demo = Fixtures.demo();

    assertThat(demo.workload("spire", "spire-server")).isPresent();
    assertThat(demo.workload("spire", "spire-agent")).isPresent();
    assertThat(demo.workload("demo", "frontend")).isPresent();
    assertThat(demo.workload("demo", "backend")).isPresent();
    assertThat(demo.workload("demo", "postgres")).isPresent();
    assertThat(demo.find(Namespace.class, null, "demo").orElseThrow().getMetadata().getLabels())
        .containsEntry("pod-security.kubernetes.io/enforce", "restricted");
  }

  // ---- the decoder itself rejects what a lenient one would keep ---------------------------------

  private static final String DEPLOYMENT = """
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: d
      spec:
        selector:
          matchLabels: {app: d}
        template:
          metadata:
            labels: {app: d}
          spec:
            containers:
              - name: c
                image: x
                %s
      """;

  @Test
  void decoder_acceptsAWellFormedObject() {
    assertThat(StrictKubernetesDecoder.decodeAll(DEPLOYMENT.formatted("ports: [{containerPort: 80}]"))).hasSize(1);
  }

  @Test
  void decoder_misspelledField_isRejectedWithItsPath() {
    assertThatThrownBy(() -> StrictKubernetesDecoder.decodeAll(DEPLOYMENT.formatted(
        "volumeMounts: [{name: v, mountpath: /x}]")))
        .hasMessageContaining("apps/v1 Deployment d")
        .hasMessageContaining("\"mountpath\"")
        .hasMessageContaining("spec.template.spec.containers[0].volumeMounts[0].mountpath");
  }

  @Test
  void decoder_fieldAtTheWrongLevel_isRejected() {
    // replicas belongs to the Deployment's spec, not to a container
    assertThatThrownBy(() -> StrictKubernetesDecoder.decodeAll(DEPLOYMENT.formatted("imagePullPolicy: Always\n"
        + "          replicas: 2")))
        .hasMessageContaining("\"replicas\"")
        .hasMessageContaining("spec.template.spec.containers[0].replicas");
  }

  @Test
  void decoder_additionalPropertiesKey_isRejectedToo() {
    assertThatThrownBy(() -> StrictKubernetesDecoder.decodeAll(DEPLOYMENT.formatted("additionalProperties: {a: b}")))
        .hasMessageContaining("additionalProperties");
  }

  @Test
  void decoder_unknownKindOrVersion_isRejected() {
    assertThatThrownBy(() -> StrictKubernetesDecoder.decodeAll("apiVersion: apps/v1beta1\nkind: Deployment\n"
        + "metadata: {name: old}\n"))
        .hasMessageContaining("(apps/v1beta1 Deployment old): unknown apiVersion/kind");
  }

  @Test
  void decoder_duplicateKey_isRejected() {
    assertThatThrownBy(() -> StrictKubernetesDecoder.decodeAll("apiVersion: v1\nkind: ConfigMap\n"
        + "metadata: {name: c}\ndata: {a: '1', a: '2'}\n"))
        .hasMessageContaining("duplicate");
  }

  @Test
  void kubectlFailure_reportsKubectlsMessage() {
    Path missing = Kubectl.repoRoot().resolve("deploy/kustomize/overlays/no-such-overlay");

    assertThatThrownBy(() -> Kubectl.kustomize(missing)).isInstanceOf(AssertionError.class)
        .hasMessageContaining("kubectl kustomize " + missing + " failed");
  }
}
