package dev.rotor.k8s;

import static dev.rotor.k8s.DemoChecks.flag;

import dev.rotor.k8s.RenderedDemo.Workload;
import dev.rotor.policy.Policy;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.storage.CSIDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The cross-reference checks of node mode ({@code rotor serve --node}, overlays/node): what must
 * agree between node-mode Rotor, the SPIRE agent's admin API, the CSI driver that hands Rotor's
 * socket to pods, and the Envoy pods, for every Envoy to be attested and served. Each returns its
 * problems, one sentence each; a build without a node-mode Rotor has none.
 */
final class NodeModeChecks {

  static final String DEFAULT_CSI_DRIVER = "csi.spiffe.io";
  private static final Pattern ADMIN_SOCKET = Pattern.compile("(?m)^\\s*admin_socket_path\\s*=\\s*\"([^\"]*)\"");
  private static final Pattern SOCKET = Pattern.compile("(?m)^\\s*socket_path\\s*=\\s*\"([^\"]*)\"");
  private static final Pattern DELEGATES = Pattern.compile("(?m)^\\s*authorized_delegates\\s*=\\s*\\[([^\\]]*)\\]");

  private NodeModeChecks() {}

  /** The Rotor container of a pod when it runs {@code rotor serve --node}. */
  static Optional<Container> nodeRotor(Workload w) {
    return DemoChecks.rotorServe(w).filter(c -> c.getArgs().contains("--node"));
  }

  static List<String> all(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    p.addAll(agentAdminApiAgrees(demo));
    p.addAll(envoysReachTheNodeSocket(demo));
    return p;
  }

  // ---- Rotor and the agent's admin API ---------------------------------------------------------

  static List<String> agentAdminApiAgrees(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (Workload w : demo.workloads()) {
      Optional<Container> rotor = nodeRotor(w);
      if (rotor.isEmpty()) {
        continue;
      }
      if (!Boolean.TRUE.equals(w.spec().getHostPID())) {
        p.add(w.where() + ": node-mode Rotor runs without hostPID, so it sees every Envoy's PID as 0 and the agent"
            + " cannot attest any (expected hostPID: true)");
      }
      String admin = flag(rotor.get(), "--delegated-identity-api").stream().findFirst().orElse("")
          .replaceFirst("^unix://", "");
      Optional<String> rotorSide = hostPath(w, rotor.get(), admin);
      if (rotorSide.isEmpty()) {
        p.add(w.where() + ": --delegated-identity-api " + admin + " is on no hostPath volume of the rotor container");
      }
      String conf = demo.generatedConfigMap("spire", "spire-agent").getData().get("agent.conf");
      Optional<Workload> agent = demo.workload("spire", "spire-agent");
      Optional<Container> agentContainer = agent.flatMap(a -> a.container("spire-agent"));
      Matcher adminPath = ADMIN_SOCKET.matcher(conf);
      if (!adminPath.find()) {
        p.add("spire/ConfigMap/spire-agent: agent.conf has no admin_socket_path, so the agent serves no Delegated"
            + " Identity API for " + w.where());
      } else if (agentContainer.isPresent()) {
        Optional<String> agentSide = hostPath(agent.get(), agentContainer.get(), adminPath.group(1));
        if (agentSide.isEmpty() || !agentSide.equals(rotorSide)) {
          p.add(w.where() + ": Rotor's --delegated-identity-api is host path " + rotorSide.orElse("(none)")
              + " but the agent's admin_socket_path " + adminPath.group(1) + " is host path "
              + agentSide.orElse("(none)"));
        }
        Matcher socket = SOCKET.matcher(conf);
        Optional<String> workloadDir = socket.find() ? hostPath(agent.get(), agentContainer.get(), socket.group(1))
            .map(s -> s.substring(0, s.lastIndexOf('/'))) : Optional.empty();
        if (workloadDir.isPresent() && agentSide.isPresent() && agentSide.get().startsWith(workloadDir.get() + "/")) {
          p.add("spire/ConfigMap/spire-agent: the admin socket " + agentSide.get() + " is in the Workload API socket's"
              + " directory " + workloadDir.get() + ", which every pod may mount");
        }
      }
      String sa = Objects.requireNonNullElse(w.spec().getServiceAccountName(), "default");
      String id = DemoChecks.spiffeIdOf(w.namespace(), sa);
      Matcher delegates = DELEGATES.matcher(conf);
      if (!delegates.find() || !delegates.group(1).contains("\"" + id + "\"")) {
        p.add(w.where() + ": runs as " + id + ", which agent.conf's authorized_delegates does not list ("
            + (delegates.find(0) ? "[" + delegates.group(1).strip() + "]" : "none") + ")");
      }
      if (demo.registrations().bySpiffeId(id).isEmpty()) {
        p.add(w.where() + ": " + id + " has no entry in the registrations, so the agent never attests Rotor as a"
            + " delegate");
      }
    }
    return p;
  }

  // ---- the Envoy pods and the node socket --------------------------------------------------------

  static List<String> envoysReachTheNodeSocket(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    Optional<Workload> node = demo.workloads().stream().filter(w -> nodeRotor(w).isPresent()).findFirst();
    if (node.isEmpty()) {
      return p;
    }
    Container rotor = nodeRotor(node.get()).orElseThrow();
    String sds = flag(rotor, "--sds-socket").stream().findFirst().orElse(DemoChecks.DEFAULT_SDS_SOCKET);
    Optional<String> served = hostPath(node.get(), rotor, sds);
    Optional<Policy> policy = demo.policyOf(node.get());
    List<String> allowed = flag(rotor, "--allowed-uid");
    for (Workload w : demo.workloads()) {
      Optional<Container> envoy = w.container(RenderedDemo.ENVOY);
      if (envoy.isEmpty() || DemoChecks.rotorServe(w).isPresent()) {
        continue; // served by a sidecar: DemoChecks
      }
      Optional<DemoChecks.Bootstrap> b = DemoChecks.bootstrap(demo, w, envoy.get(), p);
      if (b.isEmpty()) {
        continue;
      }
      String pipe = b.get().rotorPipe();
      Optional<String> reached = csiHostPath(demo, w, envoy.get(), pipe, p);
      if (reached.isPresent() && !reached.equals(served)) {
        p.add(w.where() + ": Envoy connects to " + pipe + ", host path " + reached.get() + ", but node-mode Rotor"
            + " serves host path " + served.orElse("(none)"));
      }
      Long uid = Optional.ofNullable(envoy.get().getSecurityContext()).map(s -> s.getRunAsUser())
          .orElse(Optional.ofNullable(w.spec().getSecurityContext()).map(PodSecurityContext::getRunAsUser).orElse(null));
      if (!allowed.isEmpty() && (uid == null || !allowed.contains(String.valueOf(uid)))) {
        p.add(w.where() + ": envoy runs as UID " + uid + ", which node-mode Rotor's --allowed-uid " + allowed
            + " refuses");
      }
      String sa = Objects.requireNonNullElse(w.spec().getServiceAccountName(), "default");
      String id = DemoChecks.spiffeIdOf(w.namespace(), sa);
      policy.flatMap(pol -> pol.workloadForNode(b.get().nodeId())).ifPresent(wl -> {
        if (wl.match().spiffeIds().stream().noneMatch(s -> s.toString().equals(id))) {
          p.add(w.where() + ": Envoy's node id " + b.get().nodeId() + " names the policy's workload " + wl.name()
              + " (" + wl.match().spiffeIds() + "), not the pod's attested " + id + ": node-mode Rotor refuses it");
        }
      });
    }
    return p;
  }

  /**
   * The host path a pod reaches {@code path} at through an inline CSI volume of a SPIFFE CSI driver
   * (the driver's -workload-api-socket-dir, mounted from the host, handed to the pod).
   */
  private static Optional<String> csiHostPath(RenderedDemo demo, Workload w, Container c, String path, List<String> p) {
    Optional<VolumeMount> mount = w.mountFor(c, path);
    Optional<Volume> volume = mount.flatMap(m -> w.volume(m.getName()));
    if (volume.isEmpty() || volume.get().getCsi() == null) {
      p.add(w.where() + ": container " + c.getName() + " reaches " + path + " through "
          + volume.map(v -> "volume " + v.getName() + ", not a CSI volume").orElse("no volume")
          + " (expected the CSI driver that hands node-mode Rotor's socket directory to pods)");
      return Optional.empty();
    }
    String driver = volume.get().getCsi().getDriver();
    if (demo.find(CSIDriver.class, null, driver).isEmpty()) {
      p.add(w.where() + ": volume " + volume.get().getName() + " uses CSI driver " + driver + ", which the build"
          + " does not register (no CSIDriver " + driver + ")");
    }
    for (Workload d : demo.workloads()) {
      for (Container dc : d.spec().getContainers()) {
        List<String> names = flag(dc, "-plugin-name");
        List<String> dirs = flag(dc, "-workload-api-socket-dir");
        String name = names.isEmpty() ? DEFAULT_CSI_DRIVER : names.get(0);
        if (dirs.isEmpty() || !name.equals(driver)) {
          continue;
        }
        return hostPath(d, dc, dirs.get(0)).map(h -> h + path.substring(mount.get().getMountPath().length()));
      }
    }
    p.add(w.where() + ": no DaemonSet of the build runs CSI driver " + driver);
    return Optional.empty();
  }

  /** The host path {@code path} of {@code c} lies at, when it is on a hostPath volume. */
  private static Optional<String> hostPath(Workload w, Container c, String path) {
    Optional<VolumeMount> mount = w.mountFor(c, path);
    return mount.flatMap(m -> w.volume(m.getName()))
        .filter(v -> v.getHostPath() != null)
        .map(v -> v.getHostPath().getPath() + path.substring(mount.get().getMountPath().length()));
  }
}
