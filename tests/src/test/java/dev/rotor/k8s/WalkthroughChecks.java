package dev.rotor.k8s;

import dev.rotor.k8s.RenderedDemo.Workload;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What `deploy/README.md`'s walkthrough trips over on a real cluster, checked on the rendered
 * overlays (issue 15): a container whose command is not in its image, a Job that cannot be
 * re-applied, a StatefulSet governed by a Service that is not headless, a kubelet probe of a health
 * listener that only listens on loopback. Each returns one sentence per problem.
 */
final class WalkthroughChecks {

  private WalkthroughChecks() {}

  static List<String> all(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    p.addAll(commandsExistInTheirImages(demo, Kubectl.repoRoot()));
    p.addAll(statefulSetsHaveHeadlessServices(demo));
    p.addAll(healthProbesReachTheFileWriter(demo));
    return p;
  }

  // ---- every command a container runs is in its image ----------------------------------------

  /**
   * Each container's {@code command[0]}, each exec probe's {@code command[0]}, and the jar of a
   * {@code java -jar} command exist in the image's documented contents ({@link ImageContents}).
   */
  static List<String> commandsExistInTheirImages(RenderedDemo demo, Path repoRoot) {
    List<String> p = new ArrayList<>();
    for (Workload w : demo.workloads()) {
      w.allContainers().forEach(c -> {
        String where = w.where() + ": container " + c.getName() + " (image " + c.getImage() + ")";
        Optional<ImageContents> contents = ImageContents.of(c.getImage(), repoRoot);
        if (contents.isEmpty()) {
          p.add(where + ": nothing documents what the image contains (add it to ImageContents)");
          return;
        }
        ImageContents image = contents.get();
        List<String> command = c.getCommand();
        if (!command.isEmpty()) {
          requireExecutable(image, command.get(0), where + " command", p);
          int jar = command.indexOf("-jar");
          if (jar >= 0 && jar + 1 < command.size() && !image.files().contains(command.get(jar + 1))) {
            p.add(where + " runs java -jar " + command.get(jar + 1) + ", which the image does not contain ("
                + image.source() + ")");
          }
        }
        Stream.of(c.getStartupProbe(), c.getReadinessProbe(), c.getLivenessProbe())
            .filter(pr -> pr != null && pr.getExec() != null && !pr.getExec().getCommand().isEmpty())
            .forEach(pr -> requireExecutable(image, pr.getExec().getCommand().get(0), where + " exec probe", p));
      });
    }
    return p;
  }

  private static void requireExecutable(ImageContents image, String command, String what, List<String> p) {
    if (!image.hasExecutable(command)) {
      p.add(what + " " + command + " is not in the image (" + image.source() + "); the container could never"
          + " start it");
    }
  }

  // ---- StatefulSets are governed by headless Services -------------------------------------------

  static List<String> statefulSetsHaveHeadlessServices(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (StatefulSet s : demo.all(StatefulSet.class)) {
      String ns = s.getMetadata().getNamespace();
      String where = ns + "/StatefulSet/" + s.getMetadata().getName();
      String name = s.getSpec().getServiceName();
      Optional<Service> svc = demo.service(ns, name);
      if (svc.isEmpty()) {
        p.add(where + ": serviceName " + name + " names no Service in namespace " + ns);
      } else if (!"None".equals(svc.get().getSpec().getClusterIP())) {
        p.add(where + ": serviceName " + name + " is not a headless Service (expected clusterIP: None; the"
            + " governing Service gives the pods their DNS names)");
      }
    }
    return p;
  }

  // ---- a kubelet probe of the file writer's health listener reaches it -------------------------

  private static final Pattern LISTENER_ENABLED = Pattern.compile("(?m)^\\s*listener_enabled\\s*=\\s*true\\b");
  private static final Pattern BIND_ADDRESS = Pattern.compile("(?m)^\\s*bind_address\\s*=\\s*\"([^\"]*)\"");
  private static final Pattern BIND_PORT = Pattern.compile("(?m)^\\s*bind_port\\s*=\\s*(\\d+)");

  /**
   * A kubelet probes the pod IP: a Rotor container whose HTTP probe targets its helper.conf's health
   * port must set {@code bind_address} off loopback (Rotor's default is 127.0.0.1, where
   * spiffe-helper listens on every interface).
   */
  static List<String> healthProbesReachTheFileWriter(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (Workload w : demo.workloads()) {
      Optional<Container> rotor = w.container(RenderedDemo.ROTOR);
      if (rotor.isEmpty()) {
        continue;
      }
      for (String conf : DemoChecks.helperConfs(demo, w, rotor.get())) {
        if (!LISTENER_ENABLED.matcher(conf).find()) {
          continue;
        }
        Matcher port = BIND_PORT.matcher(conf);
        int healthPort = port.find() ? Integer.parseInt(port.group(1)) : 8081;
        Matcher address = BIND_ADDRESS.matcher(conf);
        String bind = address.find() ? address.group(1) : "127.0.0.1";
        boolean probed = Stream.of(rotor.get().getStartupProbe(), rotor.get().getReadinessProbe(),
                rotor.get().getLivenessProbe())
            .anyMatch(pr -> probesPort(pr, rotor.get(), healthPort));
        if (probed && (bind.startsWith("127.") || bind.equals("localhost") || bind.equals("::1"))) {
          p.add(w.where() + ": the kubelet probes the file writer's health port " + healthPort + " but helper.conf"
              + " binds it to " + bind + " (set health_checks { bind_address = \"0.0.0.0\" })");
        }
      }
    }
    return p;
  }

  private static boolean probesPort(Probe probe, Container c, int port) {
    if (probe == null || probe.getHttpGet() == null) {
      return false;
    }
    IntOrString target = probe.getHttpGet().getPort();
    if (target.getIntVal() != null) {
      return target.getIntVal() == port;
    }
    return c.getPorts().stream().filter(cp -> target.getStrVal().equals(cp.getName()))
        .map(ContainerPort::getContainerPort).anyMatch(n -> n == port);
  }
}
