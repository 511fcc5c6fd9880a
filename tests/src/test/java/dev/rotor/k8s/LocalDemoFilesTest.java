package dev.rotor.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.testkit.DemoPolicy;
import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.demo.DeployFiles;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Volume;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What runs on one machine is what a cluster gets: every file the local demo reads from the
 * Kubernetes demo ({@link DeployFiles#ALL}: the Envoy bootstraps, the policy, both helper.conf files,
 * PostgreSQL's client authentication and first-start SQL) is, byte for byte, a key of a ConfigMap the
 * demo overlay builds, and the pods that play the same part in the cluster mount that ConfigMap.
 * The local demo substitutes paths and ports only (checked where it reads them: {@code TemplateFile}).
 */
class LocalDemoFilesTest {
  private static final String NAMESPACE = "demo";

  /** A file of the repository, the ConfigMap key it becomes, and the pods that mount it. */
  record Mounted(String file, String configMap, String key, List<String> pods) {
    @Override
    public String toString() {
      return file;
    }
  }

  static final List<Mounted> MOUNTED = List.of(
      new Mounted(DeployFiles.FRONTEND_BOOTSTRAP, "envoy-frontend", "envoy.yaml", List.of("frontend")),
      new Mounted(DeployFiles.BACKEND_BOOTSTRAP, "envoy-backend", "envoy.yaml", List.of("backend")),
      new Mounted(DemoPolicy.FILE, "rotor-policy", "policy.yaml", List.of("frontend", "backend")),
      new Mounted(DeployFiles.HELPER_BACKEND, "rotor-helper-backend", "helper.conf", List.of("backend")),
      new Mounted(DeployFiles.HELPER_POSTGRES, "rotor-helper-postgres", "helper.conf", List.of("postgres")),
      new Mounted(DeployFiles.PG_HBA, "postgres-auth", "pg_hba.conf", List.of("postgres")),
      new Mounted(DeployFiles.PG_IDENT, "postgres-auth", "pg_ident.conf", List.of("postgres")),
      new Mounted(DeployFiles.INIT_SQL, "postgres-init", "10-demo.sql", List.of("postgres")));

  static Stream<Mounted> mounted() {
    return MOUNTED.stream();
  }

  @Test
  void everyFileTheLocalDemoReads_isAccountedForHere() {
    assertThat(MOUNTED.stream().map(Mounted::file)).containsExactlyInAnyOrderElementsOf(DeployFiles.ALL);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("mounted")
  void theClusterGetsTheSameFile_mountedByThePodThatPlaysItsPart(Mounted m) throws IOException {
    assertThat(differences(Fixtures.demo(), m, read(m))).isEmpty();
  }

  @Test
  void aConfigMapThatDiffersFromTheFile_orAPodThatDoesNotMountIt_isReported() throws IOException {
    Mounted helper = MOUNTED.get(3);
    RenderedDemo changed = Fixtures.demo();
    ConfigMap map = changed.generatedConfigMap(NAMESPACE, helper.configMap());
    map.getData().put(helper.key(), map.getData().get(helper.key()) + "cert_file_mode = 0600\n");
    assertThat(differences(changed, helper, read(helper)))
        .containsExactly("ConfigMap demo/" + map.getMetadata().getName() + " key helper.conf differs from "
            + helper.file());

    RenderedDemo unmounted = Fixtures.demo();
    unmounted.workload(NAMESPACE, "backend").orElseThrow().spec().getVolumes()
        .removeIf(v -> v.getConfigMap() != null && v.getConfigMap().getName().startsWith(helper.configMap()));
    assertThat(differences(unmounted, helper, read(helper)))
        .containsExactly("demo/backend mounts no ConfigMap " + helper.configMap() + " (" + helper.file() + ")");
  }

  /** What keeps {@code m} from reaching its pods unchanged; empty when nothing does. */
  private static List<String> differences(RenderedDemo demo, Mounted m, String content) {
    List<String> problems = new ArrayList<>();
    ConfigMap map = demo.generatedConfigMap(NAMESPACE, m.configMap());
    Map<String, String> data = map.getData() == null ? Map.of() : map.getData();
    if (!Objects.equals(data.get(m.key()), content)) {
      problems.add("ConfigMap " + NAMESPACE + "/" + map.getMetadata().getName() + " key " + m.key()
          + (data.containsKey(m.key()) ? " differs from " : " is missing, expected from ") + m.file());
    }
    for (String pod : m.pods()) {
      List<Volume> volumes = demo.workload(NAMESPACE, pod).orElseThrow().spec().getVolumes();
      boolean mounts = volumes.stream().anyMatch(v -> v.getConfigMap() != null
          && v.getConfigMap().getName().equals(map.getMetadata().getName()));
      if (!mounts) {
        problems.add(NAMESPACE + "/" + pod + " mounts no ConfigMap " + m.configMap() + " (" + m.file() + ")");
      }
    }
    return problems;
  }

  private static String read(Mounted m) throws IOException {
    return Files.readString(RepoRoot.resolve(m.file()), StandardCharsets.UTF_8);
  }
}
