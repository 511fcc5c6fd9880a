package dev.rotor.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rotor.cli.RotorMain;
import dev.rotor.k8s.DemoCrossReferenceTest.Defect;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import picocli.CommandLine;

/**
 * The Kubernetes walkthrough runs as written (issue 15, W1 to W6): the rendered overlays pass
 * {@link WalkthroughChecks} and each check catches the mistake it is for; the Job can be re-applied;
 * both of Rotor's image builds have the layout the manifests run; and deploy/README.md's commands
 * use flags that exist, load every image it builds, and wait for each port-forward.
 */
class WalkthroughTest {

  private static final Path ROOT = Kubectl.repoRoot();

  @Test
  void demoAndRogueOverlays_passEveryCheck() {
    assertThat(WalkthroughChecks.all(Fixtures.demo())).isEmpty();
    assertThat(WalkthroughChecks.all(Fixtures.rogue())).isEmpty();
  }

  @Test
  void theChecksLookAtWhatTheyClaimTo() {
    RenderedDemo demo = Fixtures.demo();
    assertThat(demo.workloads().stream().flatMap(RenderedDemo.Workload::allContainers)
        .filter(c -> !c.getCommand().isEmpty())).hasSizeGreaterThanOrEqualTo(5);
    assertThat(demo.all(io.fabric8.kubernetes.api.model.apps.StatefulSet.class)).hasSize(2);
    assertThat(demo.workload("demo", "postgres").orElseThrow().container("rotor").orElseThrow().getStartupProbe()
        .getHttpGet()).isNotNull();
  }

  static Stream<Arguments> defects() {
    return Stream.of(
        new Defect("W1: bash in the distroless kubectl image",
            d -> container(d, "spire", "spire-register", "register").setImage("registry.k8s.io/kubectl:v1.32.4"),
            d -> WalkthroughChecks.commandsExistInTheirImages(d, ROOT),
            "spire/Job/spire-register: container register (image registry.k8s.io/kubectl:v1.32.4) command /bin/bash"
                + " is not in the image"),
        new Defect("a shell in Rotor's distroless image",
            d -> container(d, "demo", "backend", "rotor").setCommand(List.of("/bin/sh", "-c", "java -jar x")),
            d -> WalkthroughChecks.commandsExistInTheirImages(d, ROOT),
            "demo/Deployment/backend: container rotor (image rotor:dev) command /bin/sh is not in the image"),
        new Defect("W4: a jar the image does not have",
            d -> replace(container(d, "demo", "frontend", "rotor").getCommand(), "/opt/rotor/rotor.jar",
                "/app/rotor.jar"),
            d -> WalkthroughChecks.commandsExistInTheirImages(d, ROOT),
            "runs java -jar /app/rotor.jar, which the image does not contain"),
        new Defect("an exec probe the image cannot run",
            d -> container(d, "demo", "postgres", "postgres").getReadinessProbe().getExec()
                .setCommand(List.of("pg_ready")),
            d -> WalkthroughChecks.commandsExistInTheirImages(d, ROOT),
            "container postgres (image docker.io/library/postgres:17.6-bookworm) exec probe pg_ready is not in the"
                + " image"),
        new Defect("an image nothing documents",
            d -> container(d, "demo", "backend", "envoy").setImage("example.com/envoy:latest"),
            d -> WalkthroughChecks.commandsExistInTheirImages(d, ROOT),
            "nothing documents what the image contains"),
        new Defect("a StatefulSet governed by a ClusterIP Service",
            d -> d.find(io.fabric8.kubernetes.api.model.apps.StatefulSet.class, "demo", "postgres").orElseThrow()
                .getSpec().setServiceName("postgres"),
            WalkthroughChecks::statefulSetsHaveHeadlessServices,
            "demo/StatefulSet/postgres: serviceName postgres is not a headless Service"),
        new Defect("the probed health listener on loopback",
            d -> {
              var cm = d.generatedConfigMap("demo", "rotor-helper-postgres");
              cm.getData().put("helper.conf", cm.getData().get("helper.conf")
                  .replace("bind_address = \"0.0.0.0\"", "bind_address = \"127.0.0.1\""));
            },
            WalkthroughChecks::healthProbesReachTheFileWriter,
            "demo/StatefulSet/postgres: the kubelet probes the file writer's health port 8081 but helper.conf binds"
                + " it to 127.0.0.1"))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("defects")
  void eachCheck_catchesItsMistake(Defect defect) {
    DemoCrossReferenceTest.assertCatches(defect);
  }

  @Test
  void w3_theJobIsTheSameInBothOverlays_soApplyingOneAfterTheOtherChangesNothingImmutable() {
    List<Job> demo = Fixtures.demo().all(Job.class);
    List<Job> rogue = Fixtures.rogue().all(Job.class);
    assertThat(demo).hasSize(1);
    assertThat(rogue).hasSize(1);
    // A Job's spec.template is immutable: any difference makes `kubectl apply` fail with "field is immutable".
    assertThat(rogue.get(0).getSpec()).isEqualTo(demo.get(0).getSpec());
    // ...while the registrations it reads do differ (the rogue's entry is added).
    assertThat(Fixtures.rogue().registrations().entries()).hasSize(Fixtures.demo().registrations().entries().size()
        + 1);
  }

  // ---- W4: one image layout for both of Rotor's builds --------------------------------------------

  @Test
  void w4_dockerfileAndJib_putTheJarWhereTheManifestsRunIt_withTheSameEntrypoint() throws Exception {
    List<String> dockerfile = dockerfileEntrypoint(ROOT.resolve("sds-server/Dockerfile"));
    Element jib = jibConfiguration(ROOT.resolve("sds-server/pom.xml"));
    List<String> jibEntrypoint = children(first(jib, "entrypoint"));
    Element extra = first(first(first(jib, "extraDirectories"), "paths"), "path");

    assertThat(jibEntrypoint).isEqualTo(dockerfile);
    assertThat(text(first(extra, "from"))).isEqualTo("${project.build.directory}");
    assertThat(text(first(extra, "into"))).isEqualTo("/opt/rotor");
    assertThat(children(first(extra, "includes"))).containsExactly("rotor.jar");
    assertThat(ImageContents.fromDockerfile(ROOT.resolve("sds-server/Dockerfile")).files())
        .contains("/opt/rotor/rotor.jar");
    // Every Rotor container of the demo runs exactly the image's entrypoint (the measured JVM options).
    List<Container> rotors = Fixtures.rogue().workloads().stream().flatMap(RenderedDemo.Workload::allContainers)
        .filter(c -> c.getImage().startsWith("rotor:")).toList();
    assertThat(rotors).hasSizeGreaterThanOrEqualTo(4).allSatisfy(c -> assertThat(c.getCommand()).isEqualTo(dockerfile));
  }

  private static List<String> dockerfileEntrypoint(Path dockerfile) throws IOException {
    String text = Files.readString(dockerfile).replace("\\\n", " ");
    Matcher m = Pattern.compile("(?m)^ENTRYPOINT\\s+(\\[.*])\\s*$").matcher(text);
    assertThat(m.find()).as("ENTRYPOINT in " + dockerfile).isTrue();
    return List.of(new ObjectMapper().readValue(m.group(1), String[].class));
  }

  private static Element jibConfiguration(Path pom) throws Exception {
    Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
    NodeList plugins = doc.getElementsByTagName("plugin");
    for (int i = 0; i < plugins.getLength(); i++) {
      Element plugin = (Element) plugins.item(i);
      if (text(first(plugin, "artifactId")).equals("jib-maven-plugin")) {
        return first(plugin, "configuration");
      }
    }
    throw new AssertionError("no jib-maven-plugin in " + pom);
  }

  private static Element first(Element parent, String tag) {
    NodeList l = parent.getElementsByTagName(tag);
    assertThat(l.getLength()).as("<" + tag + "> in <" + parent.getTagName() + ">").isPositive();
    return (Element) l.item(0);
  }

  private static List<String> children(Element e) {
    List<String> out = new ArrayList<>();
    for (var n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element c) {
        out.add(text(c));
      }
    }
    return out;
  }

  private static String text(Element e) {
    return e.getTextContent().trim();
  }

  // ---- deploy/README.md's walkthrough ----------------------------------------------------------------

  /** The shell lines of the walkthrough's code blocks (from "## Walkthrough" to the next "## "). */
  private static List<String> walkthroughCommands() throws IOException {
    String readme = Files.readString(ROOT.resolve("deploy/README.md"));
    int start = readme.indexOf("\n## Walkthrough");
    assertThat(start).as("deploy/README.md has a Walkthrough section").isPositive();
    int end = readme.indexOf("\n## ", start + 1);
    String section = readme.substring(start, end < 0 ? readme.length() : end);
    List<String> lines = new ArrayList<>();
    Matcher block = Pattern.compile("(?s)```sh\\n(.*?)```").matcher(section);
    while (block.find()) {
      String joined = block.group(1).replace("\\\n", " ");
      joined.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).forEach(lines::add);
    }
    assertThat(lines).as("commands in the walkthrough").hasSizeGreaterThan(20);
    return lines;
  }

  @Test
  void w2_everyRotorCommandInTheWalkthrough_usesFlagsThatExist() throws IOException {
    List<String> rotorLines = walkthroughCommands().stream().filter(l -> l.contains("./rotor ")).toList();
    assertThat(rotorLines).as("./rotor commands in the walkthrough").isNotEmpty();
    for (String line : rotorLines) {
      String[] words = line.substring(line.indexOf("./rotor ") + "./rotor ".length()).split("\\s+");
      CommandLine cl = new CommandLine(new RotorMain());
      int i = 0;
      while (i < words.length && cl.getSubcommands().containsKey(words[i])) {
        cl = cl.getSubcommands().get(words[i++]);
      }
      assertThat(i).as("a subcommand in: " + line).isPositive();
      for (; i < words.length && !words[i].equals("#"); i++) {
        if (words[i].startsWith("-")) {
          String flag = words[i].contains("=") ? words[i].substring(0, words[i].indexOf('=')) : words[i];
          assertThat(cl.getCommandSpec().findOption(flag)).as(flag + " of rotor " + cl.getCommandName() + " in: "
              + line).isNotNull();
        }
      }
    }
  }

  @Test
  void w5_w1_everyImageBuiltHere_isBuiltAndLoadedIntoKindByClusterNameAndIntoMinikube() throws IOException {
    List<String> lines = walkthroughCommands();
    for (Map.Entry<String, String> image : ImageContents.BUILT_HERE.entrySet()) {
      String tag = image.getKey() + ":dev";
      assertThat(lines).as("docker build of " + tag)
          .anySatisfy(l -> assertThat(l).startsWith("docker build").contains("-t " + tag));
      assertThat(lines).as("kind load of " + tag)
          .anySatisfy(l -> assertThat(l).startsWith("kind load docker-image").contains(" " + tag));
      assertThat(lines).as("minikube image load of " + tag)
          .anySatisfy(l -> assertThat(l).contains("minikube image load " + tag));
    }
    assertThat(lines.stream().filter(l -> l.startsWith("kind load")))
        .as("kind load names the cluster (without --name it loads into a cluster named kind only)")
        .isNotEmpty().allSatisfy(l -> assertThat(l).contains("--name "));
  }

  @Test
  void w6_everyPortForward_isWaitedForBeforeItIsUsed() throws IOException {
    List<String> lines = walkthroughCommands();
    int forwards = 0;
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i);
      if (!l.contains("port-forward")) {
        continue;
      }
      forwards++;
      assertThat(l).as("a port-forward runs in the background on a line of its own: " + l).endsWith("&");
      assertThat(i + 1).as("a line after: " + l).isLessThan(lines.size());
      assertThat(lines.get(i + 1)).as("the line after " + l + " waits for the forward")
          .contains("until").contains("Forwarding from");
    }
    assertThat(forwards).isPositive();
  }

  @Test
  void w6_prerequisitesNameWhatTheCommandsNeed() throws IOException {
    String readme = Files.readString(ROOT.resolve("deploy/README.md"));
    String walkthrough = readme.substring(readme.indexOf("\n## Walkthrough"));
    String prerequisites = walkthrough.substring(0, walkthrough.indexOf("### 1."));
    assertThat(prerequisites).contains("JDK 17").contains("Maven").contains("kind").contains("jq").contains("curl");
  }

  // ---- fixture helpers ---------------------------------------------------------------------------

  private static Container container(RenderedDemo d, String ns, String workload, String name) {
    return d.workload(ns, workload).orElseThrow().container(name).orElseThrow();
  }

  private static void replace(List<String> list, String from, String to) {
    int i = list.indexOf(from);
    assertThat(i).as(from).isNotNegative();
    list.set(i, to);
  }
}
