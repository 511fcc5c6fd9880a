package dev.rotor.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.testkit.envoy.EnvoyVersions;
import io.fabric8.kubernetes.api.model.Container;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes demo runs an Envoy the tests run: its image tag is one of the versions in
 * envoy-configs/envoy-versions.properties, which every real-Envoy test runs against.
 */
class EnvoyImageVersionTest {
  private static final String ENVOY_IMAGE = "docker.io/envoyproxy/envoy:";

  @Test
  void everyEnvoyContainerOfTheDemoAndRogueOverlays_runsATestedEnvoyVersion() {
    List<String> tested = EnvoyVersions.all().stream().map(v -> "v" + v).toList();
    for (RenderedDemo overlay : List.of(Fixtures.demo(), Fixtures.rogue())) {
      List<String> envoyImages = overlay.workloads().stream()
          .flatMap(RenderedDemo.Workload::allContainers)
          .map(Container::getImage)
          .filter(image -> image.startsWith(ENVOY_IMAGE))
          .toList();
      assertThat(envoyImages).as("Envoy containers of the overlay").isNotEmpty();
      for (String image : envoyImages) {
        assertThat(image.substring(ENVOY_IMAGE.length()))
            .as("tag of %s (tested: %s, from %s)", image, tested, EnvoyVersions.FILE)
            .isIn(tested);
      }
    }
  }
}
