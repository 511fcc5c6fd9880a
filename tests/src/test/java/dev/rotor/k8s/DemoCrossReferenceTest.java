package dev.rotor.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The cross-reference checks hold for the demo as committed, and each one catches the mistake it
 * is there for: every negative fixture breaks exactly one thing in a fresh build and expects the
 * check's sentence about it.
 */
class DemoCrossReferenceTest {

  @Test
  void demoOverlay_passesEveryCheck() {
    assertThat(DemoChecks.all(Fixtures.demo())).isEmpty();
  }

  @Test
  void rogueOverlay_passesEveryCheck_itsPodsAreWellFormedJustNotAuthorized() {
    assertThat(DemoChecks.all(Fixtures.rogue())).isEmpty();
  }

  @Test
  void theChecksLookAtWhatTheyClaimTo() {
    RenderedDemo demo = Fixtures.demo();
    // Guard against a check that passes because it found nothing to check.
    assertThat(demo.workloads().stream().filter(w -> DemoChecks.rotorServe(w).isPresent()).map(w -> w.name()))
        .containsExactlyInAnyOrder("frontend", "backend");
    assertThat(demo.workload("demo", "postgres").orElseThrow().container("rotor")).isPresent();
    assertThat(demo.registrations().entries()).hasSize(4);
    assertThat(demo.policyOf(demo.workload("demo", "backend").orElseThrow()).orElseThrow().workloads()).hasSize(2);
  }

  record Defect(String name, Consumer<RenderedDemo> breakIt, Function<RenderedDemo, List<String>> check,
      String expected) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> defects() {
    return Stream.of(
        new Defect("volume mount names no volume",
            d -> mount(d, "frontend", "envoy", "rotor-socket").setName("rotor-sockets"),
            DemoChecks::volumeMountsNameVolumes,
            "demo/Deployment/frontend: container envoy mounts volume \"rotor-sockets\" at /run/rotor, which the pod"
                + " does not define"),
        new Defect("ConfigMap volume names a missing ConfigMap",
            d -> pod(d, "frontend").volume("rotor-policy").orElseThrow().getConfigMap().setName("rotor-polcy"),
            DemoChecks::referencedConfigMapsAndSecretsExist,
            "demo/Deployment/frontend: volume rotor-policy refers to ConfigMap demo/rotor-polcy, which the build does"
                + " not contain"),
        new Defect("env refers to a missing Secret",
            d -> container(d, "backend", "backend").getEnv().add(new EnvVarBuilder().withName("DB_PASSWORD")
                .withNewValueFrom().withNewSecretKeyRef("password", "db-password", false).endValueFrom().build()),
            DemoChecks::referencedConfigMapsAndSecretsExist,
            "container backend env DB_PASSWORD refers to Secret demo/db-password"),
        new Defect("Rotor's --sds-socket differs from the Envoy bootstrap",
            d -> replaceArg(container(d, "frontend", "rotor"), "--sds-socket=/run/rotor/sds.sock",
                "--sds-socket=/run/rotor/rotor.sock"),
            DemoChecks::sdsSocketAgrees,
            "Rotor listens on --sds-socket /run/rotor/rotor.sock but Envoy's bootstrap (ConfigMap envoy-frontend-"),
        new Defect("the Envoy bootstrap's socket differs from Rotor's",
            d -> editConfigMap(d, "demo", "envoy-backend", "envoy.yaml",
                t -> t.replace("path: /run/rotor/sds.sock", "path: /var/run/rotor/sds.sock")),
            DemoChecks::sdsSocketAgrees,
            "connects to /var/run/rotor/sds.sock"),
        new Defect("Envoy mounts the socket volume at another path",
            d -> mount(d, "backend", "envoy", "rotor-socket").setMountPath("/var/run/rotor"),
            DemoChecks::sdsSocketAgrees,
            "demo/Deployment/backend: the socket /run/rotor/sds.sock is not on a volume mounted by both rotor"
                + " (rotor-socket) and envoy (none)"),
        new Defect("--expect-spiffe-id does not match the ServiceAccount",
            d -> replaceArg(container(d, "backend", "rotor"), "--expect-spiffe-id=spiffe://example.org/ns/demo/sa/backend",
                "--expect-spiffe-id=spiffe://example.org/ns/demo/sa/api"),
            DemoChecks::spiffeIdsAgree,
            "demo/Deployment/backend: Rotor --expect-spiffe-id spiffe://example.org/ns/demo/sa/api but the pod runs as"
                + " ServiceAccount backend, whose SPIFFE ID is spiffe://example.org/ns/demo/sa/backend"),
        new Defect("a workload has no registration entry",
            d -> editConfigMap(d, "spire", "spire-registrations", "registrations.txt",
                t -> t.replaceAll("(?m)^demo-frontend .*$", "")),
            DemoChecks::spiffeIdsAgree,
            "spiffe://example.org/ns/demo/sa/frontend has no entry in registrations.txt, so SPIRE never issues it"),
        new Defect("a registration entry selects another ServiceAccount",
            d -> editConfigMap(d, "spire", "spire-registrations", "registrations.txt",
                t -> t.replace("k8s:ns:demo,k8s:sa:backend", "k8s:ns:demo,k8s:sa:default")),
            DemoChecks::spiffeIdsAgree,
            "registration demo-backend for spiffe://example.org/ns/demo/sa/backend has selectors [k8s:ns:demo,"
                + " k8s:sa:default]"),
        new Defect("the policy admits an ID that nothing has",
            d -> editConfigMap(d, "demo", "rotor-policy", "policy.yaml",
                t -> t.replace("- spiffeId: spiffe://example.org/ns/demo/sa/frontend",
                    "- spiffeId: spiffe://example.org/ns/demo/sa/frontent")),
            DemoChecks::spiffeIdsAgree,
            "the policy: spiffe://example.org/ns/demo/sa/frontent has no entry in registrations.txt"),
        new Defect("a pod's ServiceAccount does not exist",
            d -> d.objects.removeIf(o -> o instanceof ServiceAccount && o.getMetadata().getName().equals("backend")),
            DemoChecks::spiffeIdsAgree,
            "demo/Deployment/backend: serviceAccountName backend has no ServiceAccount in namespace demo"),
        new Defect("the Envoy node id matches another policy workload",
            d -> editConfigMap(d, "demo", "envoy-frontend", "envoy.yaml",
                t -> t.replace("  id: frontend", "  id: backend")),
            DemoChecks::spiffeIdsAgree,
            "demo/Deployment/frontend: the policy's workload backend (node id backend) matches SPIFFE IDs"),
        new Defect("a Service targets a port no container declares",
            d -> service(d, "backend").getSpec().getPorts().get(0).setTargetPort(new IntOrString("https")),
            DemoChecks::portsAgree,
            "demo/Service/backend: port 8080 targets \"https\", which no container of demo/Deployment/backend declares"),
        new Defect("the Service port differs from the policy's inbound port",
            d -> service(d, "backend").getSpec().getPorts().get(0).setPort(8443),
            DemoChecks::portsAgree,
            "demo/Deployment/backend: no Service exposes the policy's inbound port 8080"),
        new Defect("the frontend calls another port than the policy's outbound listener",
            d -> env(d, "frontend", "frontend", "BACKEND_URL").setValue("http://127.0.0.1:9002/api/demo"),
            DemoChecks::portsAgree,
            "demo/Deployment/frontend: the policy's outbound backend listens on 127.0.0.1:9001 but no application"
                + " container calls it"),
        new Defect("the backend listens elsewhere than the policy's appPort",
            d -> env(d, "backend", "backend", "BACKEND_LISTEN").setValue("127.0.0.1:9091"),
            DemoChecks::portsAgree,
            "demo/Deployment/backend: the policy forwards inbound traffic to 127.0.0.1:9090 but no application"
                + " container is told to listen there"),
        new Defect("the policy's upstream names a Service that does not exist",
            d -> editConfigMap(d, "demo", "rotor-policy", "policy.yaml",
                t -> t.replace("address: backend.demo.svc.cluster.local:8080",
                    "address: backend-v2.demo.svc.cluster.local:8080")),
            DemoChecks::portsAgree,
            "the policy's outbound backend goes to backend-v2.demo.svc.cluster.local:8080 but the build has no Service"
                + " demo/backend-v2"),
        new Defect("Rotor's --allowed-uid is not Envoy's UID",
            d -> container(d, "frontend", "envoy").getSecurityContext().setRunAsUser(1337L),
            DemoChecks::allowedUidIsEnvoys,
            "demo/Deployment/frontend: Rotor --allowed-uid [101] but envoy runs as UID 1337"),
        new Defect("the database key volume is on disk",
            d -> pod(d, "backend").volume("db-tls").orElseThrow().getEmptyDir().setMedium(""),
            DemoChecks::keyMaterialOnlyInMemory,
            "demo/Deployment/backend: volume db-tls (mounted by rotor at /run/db-tls) is an emptyDir on the node's disk"),
        new Defect("PostgreSQL's key volume is on disk",
            d -> pod(d, "postgres").volume("pg-tls").orElseThrow().getEmptyDir().setMedium(null),
            DemoChecks::keyMaterialOnlyInMemory,
            "demo/StatefulSet/postgres: volume pg-tls (mounted by rotor at /run/pg-tls) is an emptyDir on the node's"
                + " disk"),
        new Defect("helper.conf writes keys outside the in-memory volume",
            d -> editConfigMap(d, "demo", "rotor-helper-backend", "helper.conf",
                t -> t.replace("cert_dir = \"/run/db-tls\"", "cert_dir = \"/var/lib/db-tls\"")),
            DemoChecks::keyMaterialOnlyInMemory,
            "demo/Deployment/backend: helper.conf cert_dir /var/lib/db-tls is not on an in-memory emptyDir mounted by"
                + " rotor"),
        new Defect("a container with a writable root filesystem",
            d -> container(d, "postgres", "postgres").getSecurityContext().setReadOnlyRootFilesystem(false),
            DemoChecks::demoPodsAreHardened,
            "demo/StatefulSet/postgres: container postgres has a writable root filesystem"),
        new Defect("a container that keeps a capability",
            d -> container(d, "backend", "envoy").getSecurityContext().getCapabilities().setAdd(List.of("NET_ADMIN")),
            DemoChecks::demoPodsAreHardened,
            "demo/Deployment/backend: container envoy keeps capabilities"))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("defects")
  void eachCheck_catchesItsMistake(Defect defect) {
    assertCatches(defect);
  }

  /** The check passes on a fresh build of the demo, and names the defect once it is broken in. */
  static void assertCatches(Defect defect) {
    RenderedDemo demo = Fixtures.demo();
    assertThat(defect.check().apply(demo)).as("before breaking it").isEmpty();

    defect.breakIt().accept(demo);

    assertThat(defect.check().apply(demo)).anySatisfy(p -> assertThat(p).contains(defect.expected()));
  }

  // ---- fixture helpers ---------------------------------------------------------------------------

  private static RenderedDemo.Workload pod(RenderedDemo d, String name) {
    return d.workload("demo", name).orElseThrow();
  }

  private static Container container(RenderedDemo d, String pod, String container) {
    return pod(d, pod).container(container).orElseThrow();
  }

  private static io.fabric8.kubernetes.api.model.VolumeMount mount(RenderedDemo d, String pod, String container,
      String volume) {
    return container(d, pod, container).getVolumeMounts().stream().filter(m -> m.getName().equals(volume))
        .findFirst().orElseThrow();
  }

  private static EnvVar env(RenderedDemo d, String pod, String container, String name) {
    return container(d, pod, container).getEnv().stream().filter(e -> e.getName().equals(name)).findFirst()
        .orElseThrow();
  }

  private static Service service(RenderedDemo d, String name) {
    return d.service("demo", name).orElseThrow();
  }

  private static void replaceArg(Container c, String from, String to) {
    int i = c.getArgs().indexOf(from);
    assertThat(i).as("argument " + from + " of container " + c.getName()).isNotNegative();
    c.getArgs().set(i, to);
  }

  private static void editConfigMap(RenderedDemo d, String namespace, String baseName, String key,
      Function<String, String> edit) {
    ConfigMap cm = d.generatedConfigMap(namespace, baseName);
    String before = cm.getData().get(key);
    String after = edit.apply(before);
    assertThat(after).as("the fixture changes " + baseName + "/" + key).isNotEqualTo(before);
    cm.getData().put(key, after);
  }
}
