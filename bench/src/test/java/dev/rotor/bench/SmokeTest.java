package dev.rotor.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The benchmark harness in smoke mode, inside the normal test command, so it cannot rot: Rotor on
 * its dev CA with 20 SDS streams through one rotation, and a policy edit to 10 ADS clients, each
 * through the real load-client process. Checks that the results were produced and are well
 * formed; never checks a timing (this machine is shared and noisy; figures come from
 * {@code bench/run.sh}).
 */
class SmokeTest {

  @Test
  void smokeRun_writesWellFormedJsonMarkdownAndChart() throws Exception {
    Path repo = Path.of(System.getProperty("rotor.repo.root")).toAbsolutePath().normalize();
    Path out = Files.createDirectories(repo.resolve("bench/target/smoke-results"));

    Path json = BenchMain.run(repo, out, Optional.empty(), Optional.empty(), true,
        new LinkedHashSet<>(List.of("fanout", "policy", "filewriter")), 1, "--smoke");

    JsonNode root = new ObjectMapper().readTree(Files.readString(json, StandardCharsets.UTF_8));
    assertThat(root.path("failures")).as("failures: %s", root.path("failures")).isEmpty();
    assertThat(root.path("mode").asText()).isEqualTo("smoke");
    assertThat(root.path("machine").path("cores").asInt()).isPositive();

    JsonNode fanOut = root.path("fanOut");
    assertThat(fanOut).hasSize(1);
    assertThat(fanOut.get(0).path("subject").asText()).isEqualTo("ROTOR_DEV");
    assertThat(fanOut.get(0).path("streams").asInt()).isEqualTo(20);
    assertThat(fanOut.get(0).path("rotations").asInt()).as("measured rotations").isEqualTo(1);
    JsonNode run = root.path("fanOutRuns").get(0);
    assertThat(run.path("end").asText()).isEqualTo("DONE");
    for (JsonNode rotation : run.path("rotations")) {
      assertThat(rotation.path("streams").asInt()).isEqualTo(20);
      assertThat(rotation.path("triggerSource").asText()).as("matched by leaf serial").isEqualTo("serial");
      assertThat(rotation.path("maxMs").asDouble()).isGreaterThanOrEqualTo(rotation.path("p50Ms").asDouble());
      assertThat(rotation.path("duplicateResponses").asInt()).isZero();
    }

    JsonNode policy = root.path("policy");
    assertThat(policy).hasSize(1);
    assertThat(policy.get(0).path("streams").asInt()).isEqualTo(10);
    assertThat(policy.get(0).path("edits").asInt()).isEqualTo(1);
    assertThat(root.path("notRun").path("4. file writer").asText()).as("why scenario 4 did not run").isNotBlank();

    String base = json.getFileName().toString().replaceFirst("\\.json$", "");
    String md = Files.readString(out.resolve(base + ".md"), StandardCharsets.UTF_8);
    assertThat(md).contains("#### 1. Rotation fan-out", "| 20 | Rotor, dev CA | 1 |", "#### 5. Policy change",
        "| 10 | 1 |");
    assertThat(ImageIO.read(out.resolve(base + "-fanout-all.png").toFile())).as("fan-out chart").isNotNull();
  }
}
