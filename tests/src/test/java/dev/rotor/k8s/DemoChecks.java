package dev.rotor.k8s;

import dev.rotor.k8s.RenderedDemo.Workload;
import dev.rotor.policy.PeerMatcher;
import dev.rotor.policy.Policy;
import dev.rotor.policy.Rule;
import dev.rotor.policy.Upstream;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The cross-reference checks: mistakes that a schema cannot see and that usually break a demo
 * like this one only at run time. Each returns its problems, one sentence each, naming the object,
 * the container and both sides of the mismatch; an empty list means the check holds.
 */
final class DemoChecks {
  static final String TRUST_DOMAIN = "example.org";
  /** Rotor's default, when a pod does not pass --sds-socket (ServeConfig.DEFAULT_SDS_SOCKET). */
  static final String DEFAULT_SDS_SOCKET = "/run/rotor/sds.sock";
  private static final Pattern CERT_DIR = Pattern.compile("(?m)^\\s*cert_dir\\s*=\\s*\"([^\"]*)\"");

  private DemoChecks() {}

  /** All of them, in order. */
  static List<String> all(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    p.addAll(volumeMountsNameVolumes(demo));
    p.addAll(referencedConfigMapsAndSecretsExist(demo));
    p.addAll(sdsSocketAgrees(demo));
    p.addAll(spiffeIdsAgree(demo));
    p.addAll(portsAgree(demo));
    p.addAll(allowedUidIsEnvoys(demo));
    p.addAll(keyMaterialOnlyInMemory(demo));
    p.addAll(demoPodsAreHardened(demo));
    return p;
  }

  // ---- every volume mount names a volume -------------------------------------------------------

  static List<String> volumeMountsNameVolumes(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (Workload w : demo.workloads()) {
      w.allContainers().forEach(c -> {
        for (VolumeMount m : c.getVolumeMounts()) {
          if (!w.definesVolume(m.getName())) {
            p.add(w.where() + ": container " + c.getName() + " mounts volume \"" + m.getName() + "\" at "
                + m.getMountPath() + ", which the pod does not define (volumes: " + volumeNames(w) + ")");
          }
        }
      });
    }
    return p;
  }

  private static List<String> volumeNames(Workload w) {
    List<String> names = new ArrayList<>(w.spec().getVolumes().stream().map(Volume::getName).toList());
    names.addAll(w.claimTemplates());
    return names;
  }

  // ---- every ConfigMap/Secret referenced exists --------------------------------------------------

  static List<String> referencedConfigMapsAndSecretsExist(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (Workload w : demo.workloads()) {
      for (Volume v : w.spec().getVolumes()) {
        if (v.getConfigMap() != null) {
          requireConfigMap(demo, w, "volume " + v.getName(), v.getConfigMap().getName(), p);
        }
        if (v.getSecret() != null) {
          requireSecret(demo, w, "volume " + v.getName(), v.getSecret().getSecretName(), p);
        }
        if (v.getProjected() != null) {
          for (VolumeProjection s : v.getProjected().getSources()) {
            if (s.getConfigMap() != null) {
              requireConfigMap(demo, w, "volume " + v.getName(), s.getConfigMap().getName(), p);
            }
            if (s.getSecret() != null) {
              requireSecret(demo, w, "volume " + v.getName(), s.getSecret().getName(), p);
            }
          }
        }
      }
      w.allContainers().forEach(c -> {
        for (EnvVar e : c.getEnv()) {
          if (e.getValueFrom() != null && e.getValueFrom().getConfigMapKeyRef() != null) {
            requireConfigMap(demo, w, "container " + c.getName() + " env " + e.getName(),
                e.getValueFrom().getConfigMapKeyRef().getName(), p);
          }
          if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
            requireSecret(demo, w, "container " + c.getName() + " env " + e.getName(),
                e.getValueFrom().getSecretKeyRef().getName(), p);
          }
        }
        c.getEnvFrom().forEach(ef -> {
          if (ef.getConfigMapRef() != null) {
            requireConfigMap(demo, w, "container " + c.getName() + " envFrom", ef.getConfigMapRef().getName(), p);
          }
          if (ef.getSecretRef() != null) {
            requireSecret(demo, w, "container " + c.getName() + " envFrom", ef.getSecretRef().getName(), p);
          }
        });
      });
    }
    return p;
  }

  private static void requireConfigMap(RenderedDemo demo, Workload w, String what, String name, List<String> p) {
    if (!demo.configMapExists(w.namespace(), name)) {
      p.add(w.where() + ": " + what + " refers to ConfigMap " + w.namespace() + "/" + name + ", which the build"
          + " does not contain");
    }
  }

  private static void requireSecret(RenderedDemo demo, Workload w, String what, String name, List<String> p) {
    if (!demo.secretExists(w.namespace(), name)) {
      p.add(w.where() + ": " + what + " refers to Secret " + w.namespace() + "/" + name + ", which the build"
          + " does not contain");
    }
  }

  // ---- the SDS socket: Rotor's flag, the Envoy bootstrap and the shared mount --------------------

  static List<String> sdsSocketAgrees(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (Workload w : demo.workloads()) {
      Optional<Container> rotor = rotorServe(w);
      if (rotor.isEmpty()) {
        continue;
      }
      String socket = flag(rotor.get(), "--sds-socket").stream().findFirst().orElse(DEFAULT_SDS_SOCKET);
      Optional<Container> envoy = w.container(RenderedDemo.ENVOY);
      if (envoy.isEmpty()) {
        p.add(w.where() + ": Rotor serves SDS on " + socket + " but the pod has no envoy container");
        continue;
      }
      Optional<Bootstrap> bootstrap = bootstrap(demo, w, envoy.get(), p);
      if (bootstrap.isPresent() && !socket.equals(bootstrap.get().rotorPipe())) {
        p.add(w.where() + ": Rotor listens on --sds-socket " + socket + " but Envoy's bootstrap ("
            + bootstrap.get().source() + ") connects to " + bootstrap.get().rotorPipe());
      }
      Optional<VolumeMount> rotorMount = w.mountFor(rotor.get(), socket);
      Optional<VolumeMount> envoyMount = w.mountFor(envoy.get(), socket);
      if (rotorMount.isEmpty() || envoyMount.isEmpty()) {
        p.add(w.where() + ": the socket " + socket + " is not on a volume mounted by both rotor ("
            + rotorMount.map(VolumeMount::getName).orElse("none") + ") and envoy ("
            + envoyMount.map(VolumeMount::getName).orElse("none") + ")");
      } else if (!rotorMount.get().getName().equals(envoyMount.get().getName())
          || !rotorMount.get().getMountPath().equals(envoyMount.get().getMountPath())) {
        p.add(w.where() + ": rotor and envoy must share the socket's volume at the same path: rotor has "
            + rotorMount.get().getName() + " at " + rotorMount.get().getMountPath() + ", envoy has "
            + envoyMount.get().getName() + " at " + envoyMount.get().getMountPath());
      }
    }
    return p;
  }

  /** The parts of an Envoy bootstrap these checks use. */
  record Bootstrap(String source, String nodeId, String rotorPipe) {}

  static Optional<Bootstrap> bootstrap(RenderedDemo demo, Workload w, Container envoy, List<String> p) {
    List<String> config = flag(envoy, "--config-path");
    if (config.isEmpty()) {
      config = flag(envoy, "-c");
    }
    if (config.isEmpty()) {
      p.add(w.where() + ": envoy has no --config-path");
      return Optional.empty();
    }
    String path = config.get(0);
    Optional<VolumeMount> mount = w.mountFor(envoy, path);
    Optional<Volume> volume = mount.flatMap(m -> w.volume(m.getName()));
    if (volume.isEmpty() || volume.get().getConfigMap() == null) {
      p.add(w.where() + ": envoy's --config-path " + path + " is not on a ConfigMap volume");
      return Optional.empty();
    }
    String key = path.substring(mount.get().getMountPath().length() + 1);
    String cmName = volume.get().getConfigMap().getName();
    Optional<ConfigMap> cm = demo.find(ConfigMap.class, w.namespace(), cmName);
    if (cm.isEmpty() || cm.get().getData() == null || !cm.get().getData().containsKey(key)) {
      p.add(w.where() + ": envoy's bootstrap " + path + " is key " + key + " of ConfigMap " + cmName
          + ", which does not exist or has no such key");
      return Optional.empty();
    }
    Map<?, ?> b = (Map<?, ?>) new Load(LoadSettings.builder().build()).loadFromString(cm.get().getData().get(key));
    String nodeId = String.valueOf(((Map<?, ?>) b.get("node")).get("id"));
    String pipe = null;
    for (Object cluster : (List<?>) ((Map<?, ?>) b.get("static_resources")).get("clusters")) {
      Map<?, ?> c = (Map<?, ?>) cluster;
      if ("rotor".equals(c.get("name"))) {
        Map<?, ?> la = (Map<?, ?>) c.get("load_assignment");
        Map<?, ?> lb = (Map<?, ?>) ((List<?>) ((Map<?, ?>) ((List<?>) la.get("endpoints")).get(0)).get("lb_endpoints"))
            .get(0);
        Map<?, ?> address = (Map<?, ?>) ((Map<?, ?>) lb.get("endpoint")).get("address");
        pipe = String.valueOf(((Map<?, ?>) address.get("pipe")).get("path"));
      }
    }
    return Optional.of(new Bootstrap("ConfigMap " + cmName + " " + key, nodeId, pipe));
  }

  // ---- SPIFFE IDs: ServiceAccounts, Rotor flags, registrations, policy ---------------------------

  static String spiffeIdOf(String namespace, String serviceAccount) {
    return "spiffe://" + TRUST_DOMAIN + "/ns/" + namespace + "/sa/" + serviceAccount;
  }

  static List<String> spiffeIdsAgree(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    Registrations registrations = demo.registrations();
    Set<String> policyIds = new LinkedHashSet<>();
    for (Workload w : demo.workloads()) {
      Optional<Container> rotor = w.container(RenderedDemo.ROTOR);
      if (rotor.isEmpty()) {
        continue;
      }
      String sa = Objects.requireNonNullElse(w.spec().getServiceAccountName(), "default");
      String id = spiffeIdOf(w.namespace(), sa);
      if (demo.serviceAccount(w.namespace(), sa).isEmpty()) {
        p.add(w.where() + ": serviceAccountName " + sa + " has no ServiceAccount in namespace " + w.namespace());
      }
      requireRegistered(registrations, id, w.where() + " (ServiceAccount " + sa + ")", p);
      for (String expected : flag(rotor.get(), "--expect-spiffe-id")) {
        if (!expected.equals(id)) {
          p.add(w.where() + ": Rotor --expect-spiffe-id " + expected + " but the pod runs as ServiceAccount " + sa
              + ", whose SPIFFE ID is " + id);
        }
      }
      Optional<Container> envoy = w.container(RenderedDemo.ENVOY);
      Optional<Policy> mounted = demo.policyOf(w);
      mounted.ifPresent(policy -> policyIds.addAll(policyIds(policy)));
      if (rotorServe(w).isPresent() && envoy.isPresent() && mounted.isPresent()) {
        Policy policy = mounted.get();
        bootstrap(demo, w, envoy.get(), new ArrayList<>()).ifPresent(b -> {
          var workload = policy.workloadForNode(b.nodeId());
          if (workload.isEmpty()) {
            p.add(w.where() + ": Envoy's node id " + b.nodeId() + " matches no workload of the policy");
          } else if (workload.get().match().spiffeIds().stream().noneMatch(s -> s.toString().equals(id))) {
            p.add(w.where() + ": the policy's workload " + workload.get().name() + " (node id " + b.nodeId()
                + ") matches SPIFFE IDs " + workload.get().match().spiffeIds() + ", not this pod's " + id);
          }
        });
      }
    }
    for (String id : policyIds) {
      requireRegistered(registrations, id, "the policy", p);
      Matcher m = Pattern.compile("spiffe://" + Pattern.quote(TRUST_DOMAIN) + "/ns/([^/]+)/sa/([^/]+)").matcher(id);
      if (!m.matches()) {
        p.add("the policy names " + id + ", which is not of the form spiffe://" + TRUST_DOMAIN + "/ns/<ns>/sa/<sa>");
      } else if (demo.serviceAccount(m.group(1), m.group(2)).isEmpty()) {
        p.add("the policy names " + id + " but the build has no ServiceAccount " + m.group(1) + "/" + m.group(2));
      }
    }
    return p;
  }

  private static void requireRegistered(Registrations r, String id, String who, List<String> p) {
    Optional<Registrations.Entry> e = r.bySpiffeId(id);
    if (e.isEmpty()) {
      p.add(who + ": " + id + " has no entry in registrations.txt, so SPIRE never issues it");
      return;
    }
    Matcher m = Pattern.compile("spiffe://[^/]+/ns/([^/]+)/sa/([^/]+)").matcher(id);
    if (m.matches()) {
      List<String> want = List.of("k8s:ns:" + m.group(1), "k8s:sa:" + m.group(2));
      if (!e.get().selectors().containsAll(want)) {
        p.add("registration " + e.get().id() + " for " + id + " has selectors " + e.get().selectors()
            + " (expected " + want + ")");
      }
    }
  }

  private static Set<String> policyIds(Policy policy) {
    Set<String> ids = new LinkedHashSet<>();
    policy.workloads().forEach(wl -> {
      wl.match().spiffeIds().forEach(s -> ids.add(s.toString()));
      wl.inbound().ifPresent(in -> {
        for (Rule r : in.rules()) {
          for (PeerMatcher m : r.from()) {
            if (m instanceof PeerMatcher.Exact e) {
              ids.add(e.id().toString());
            }
          }
        }
      });
      for (Upstream u : wl.outbound()) {
        u.spiffeIds().forEach(s -> ids.add(s.toString()));
      }
    });
    return ids;
  }

  // ---- ports: Services, containers and the policy -----------------------------------------------

  static List<String> portsAgree(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (Service s : demo.all(Service.class)) {
      String ns = s.getMetadata().getNamespace();
      String where = ns + "/Service/" + s.getMetadata().getName();
      List<Workload> selected = demo.workloads().stream()
          .filter(w -> w.namespace().equals(ns) && w.labels() != null
              && w.labels().entrySet().containsAll(s.getSpec().getSelector().entrySet()))
          .toList();
      if (selected.isEmpty()) {
        p.add(where + ": selector " + s.getSpec().getSelector() + " selects no pod of the build");
      }
      for (ServicePort sp : s.getSpec().getPorts()) {
        for (Workload w : selected) {
          if (containerPort(w, sp.getTargetPort() == null ? new IntOrString(sp.getPort()) : sp.getTargetPort())
              .isEmpty()) {
            p.add(where + ": port " + sp.getPort() + " targets " + show(sp.getTargetPort()) + ", which no container"
                + " of " + w.where() + " declares");
          }
        }
      }
    }
    for (Workload w : demo.workloads()) {
      Optional<Policy> mounted = demo.policyOf(w);
      if (rotorServe(w).isEmpty() || w.container(RenderedDemo.ENVOY).isEmpty() || mounted.isEmpty()) {
        continue;
      }
      Policy policy = mounted.get();
      Optional<Bootstrap> b = bootstrap(demo, w, w.container(RenderedDemo.ENVOY).get(), new ArrayList<>());
      var workload = b.flatMap(x -> policy.workloadForNode(x.nodeId()));
      if (workload.isEmpty()) {
        continue; // reported by spiffeIdsAgree
      }
      workload.get().inbound().ifPresent(in -> {
        Optional<ContainerPort> envoyPort = w.container(RenderedDemo.ENVOY).get().getPorts().stream()
            .filter(cp -> cp.getContainerPort() == in.port()).findFirst();
        if (envoyPort.isEmpty()) {
          p.add(w.where() + ": the policy's inbound port " + in.port() + " is not a port of the envoy container");
        }
        boolean served = demo.all(Service.class).stream()
            .filter(s -> s.getMetadata().getNamespace().equals(w.namespace()))
            .filter(s -> w.labels().entrySet().containsAll(s.getSpec().getSelector().entrySet()))
            .flatMap(s -> s.getSpec().getPorts().stream())
            .anyMatch(sp -> containerPort(w, sp.getTargetPort()).filter(cp -> cp.getContainerPort() == in.port())
                .isPresent() && sp.getPort() == in.port());
        if (!served) {
          p.add(w.where() + ": no Service exposes the policy's inbound port " + in.port() + " (Service port and"
              + " container port both " + in.port() + ")");
        }
        String app = "127.0.0.1:" + in.appPort();
        if (appEnvValues(w).stream().noneMatch(v -> v.equals(app))) {
          p.add(w.where() + ": the policy forwards inbound traffic to " + app + " but no application container is"
              + " told to listen there (env values: " + appEnvValues(w) + ")");
        }
      });
      for (Upstream u : workload.get().outbound()) {
        String local = "127.0.0.1:" + u.localPort();
        if (appEnvValues(w).stream().noneMatch(v -> v.contains("//" + local + "/") || v.equals(local))) {
          p.add(w.where() + ": the policy's outbound " + u.name() + " listens on " + local + " but no application"
              + " container calls it (env values: " + appEnvValues(w) + ")");
        }
        Matcher m = Pattern.compile("([a-z0-9-]+)\\.([a-z0-9-]+)\\.svc\\.cluster\\.local").matcher(u.host());
        if (!m.matches()) {
          p.add("the policy's outbound " + u.name() + " goes to " + u.address() + ", not a Service name"
              + " (<name>.<namespace>.svc.cluster.local)");
          continue;
        }
        Optional<Service> target = demo.service(m.group(2), m.group(1));
        if (target.isEmpty()) {
          p.add("the policy's outbound " + u.name() + " goes to " + u.address() + " but the build has no Service "
              + m.group(2) + "/" + m.group(1));
        } else if (target.get().getSpec().getPorts().stream().noneMatch(sp -> sp.getPort() == u.port())) {
          p.add("the policy's outbound " + u.name() + " goes to port " + u.port() + " but Service " + m.group(2) + "/"
              + m.group(1) + " has ports " + target.get().getSpec().getPorts().stream().map(ServicePort::getPort)
              .toList());
        }
      }
    }
    return p;
  }

  private static Optional<ContainerPort> containerPort(Workload w, IntOrString target) {
    return w.allContainers().flatMap(c -> c.getPorts().stream())
        .filter(cp -> target.getStrVal() != null ? target.getStrVal().equals(cp.getName())
            : Objects.equals(target.getIntVal(), cp.getContainerPort()))
        .findFirst();
  }

  private static String show(IntOrString v) {
    return v == null ? "<none>" : v.getStrVal() != null ? "\"" + v.getStrVal() + "\"" : String.valueOf(v.getIntVal());
  }

  /** Env values of the pod's application containers (not Rotor, not Envoy). */
  private static List<String> appEnvValues(Workload w) {
    return w.spec().getContainers().stream()
        .filter(c -> !c.getName().equals(RenderedDemo.ENVOY) && !c.getName().equals(RenderedDemo.ROTOR))
        .flatMap(c -> c.getEnv().stream())
        .map(EnvVar::getValue)
        .filter(Objects::nonNull)
        .toList();
  }

  // ---- Rotor admits Envoy's UID ------------------------------------------------------------------

  static List<String> allowedUidIsEnvoys(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (Workload w : demo.workloads()) {
      Optional<Container> rotor = rotorServe(w);
      Optional<Container> envoy = w.container(RenderedDemo.ENVOY);
      if (rotor.isEmpty() || envoy.isEmpty()) {
        continue;
      }
      Long envoyUid = envoy.get().getSecurityContext() != null && envoy.get().getSecurityContext().getRunAsUser() != null
          ? envoy.get().getSecurityContext().getRunAsUser()
          : Optional.ofNullable(w.spec().getSecurityContext()).map(PodSecurityContext::getRunAsUser).orElse(null);
      List<String> allowed = flag(rotor.get(), "--allowed-uid");
      if (envoyUid == null) {
        p.add(w.where() + ": envoy has no runAsUser, so Rotor's --allowed-uid " + allowed + " cannot be checked"
            + " against it");
      } else if (!allowed.equals(List.of(String.valueOf(envoyUid)))) {
        p.add(w.where() + ": Rotor --allowed-uid " + allowed + " but envoy runs as UID " + envoyUid
            + " (expected exactly [" + envoyUid + "]: Rotor refuses every other caller)");
      }
    }
    return p;
  }

  // ---- key material only in memory ---------------------------------------------------------------

  static List<String> keyMaterialOnlyInMemory(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (Workload w : demo.workloads()) {
      Optional<Container> rotor = w.container(RenderedDemo.ROTOR);
      if (rotor.isEmpty()) {
        continue;
      }
      for (VolumeMount m : rotor.get().getVolumeMounts()) {
        w.volume(m.getName()).filter(v -> v.getEmptyDir() != null).ifPresent(v -> {
          if (!"Memory".equals(v.getEmptyDir().getMedium())) {
            p.add(w.where() + ": volume " + v.getName() + " (mounted by rotor at " + m.getMountPath() + ") is an"
                + " emptyDir on the node's disk (expected medium: Memory: it holds keys or the SDS socket)");
          }
        });
      }
      for (String certDir : helperCertDirs(demo, w, rotor.get())) {
        Optional<Volume> v = w.mountFor(rotor.get(), certDir).flatMap(m -> w.volume(m.getName()));
        if (v.isEmpty() || v.get().getEmptyDir() == null || !"Memory".equals(v.get().getEmptyDir().getMedium())) {
          p.add(w.where() + ": helper.conf cert_dir " + certDir + " is not on an in-memory emptyDir mounted by rotor"
              + " (volume: " + v.map(Volume::getName).orElse("none") + ")");
        }
      }
    }
    return p;
  }

  /** cert_dir of the helper.conf a Rotor container reads (--helper-config for serve, --config for write-certs). */
  private static List<String> helperCertDirs(RenderedDemo demo, Workload w, Container rotor) {
    List<String> dirs = new ArrayList<>();
    for (String text : helperConfs(demo, w, rotor)) {
      Matcher m = CERT_DIR.matcher(text);
      if (m.find()) {
        dirs.add(m.group(1));
      }
    }
    return dirs;
  }

  /** The helper.conf texts a Rotor container reads from its ConfigMap mounts (--helper-config, --config). */
  static List<String> helperConfs(RenderedDemo demo, Workload w, Container rotor) {
    List<String> texts = new ArrayList<>();
    List<String> files = new ArrayList<>(flag(rotor, "--helper-config"));
    files.addAll(flag(rotor, "--config"));
    for (String file : files) {
      Optional<VolumeMount> mount = w.mountFor(rotor, file);
      Optional<Volume> v = mount.flatMap(m -> w.volume(m.getName())).filter(x -> x.getConfigMap() != null);
      if (v.isEmpty()) {
        continue;
      }
      String key = file.substring(mount.get().getMountPath().length() + 1);
      demo.find(ConfigMap.class, w.namespace(), v.get().getConfigMap().getName())
          .map(cm -> cm.getData().get(key))
          .ifPresent(texts::add);
    }
    return texts;
  }

  // ---- the workloads' securityContext (what Pod Security `restricted` requires, and more) ------------

  /** Namespace demo: non-root, read-only root filesystem, no privilege escalation, no capabilities. */
  static List<String> demoPodsAreHardened(RenderedDemo demo) {
    List<String> p = new ArrayList<>();
    for (Workload w : demo.workloads()) {
      if (!"demo".equals(w.namespace())) {
        continue;
      }
      PodSecurityContext pod = w.spec().getSecurityContext();
      boolean podNonRoot = pod != null && Boolean.TRUE.equals(pod.getRunAsNonRoot());
      if (pod == null || pod.getSeccompProfile() == null || !"RuntimeDefault".equals(pod.getSeccompProfile().getType())) {
        p.add(w.where() + ": the pod has no seccompProfile RuntimeDefault");
      }
      w.allContainers().forEach(c -> {
        var sc = c.getSecurityContext();
        String where = w.where() + ": container " + c.getName();
        if (sc == null) {
          p.add(where + " has no securityContext");
          return;
        }
        if (!podNonRoot && !Boolean.TRUE.equals(sc.getRunAsNonRoot())) {
          p.add(where + " may run as root (no runAsNonRoot on the pod or the container)");
        }
        if (!Boolean.TRUE.equals(sc.getReadOnlyRootFilesystem())) {
          p.add(where + " has a writable root filesystem (expected readOnlyRootFilesystem: true)");
        }
        if (!Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
          p.add(where + " allows privilege escalation (expected allowPrivilegeEscalation: false)");
        }
        if (sc.getCapabilities() == null || !sc.getCapabilities().getDrop().contains("ALL")
            || !sc.getCapabilities().getAdd().isEmpty()) {
          p.add(where + " keeps capabilities (expected drop: [ALL] and nothing added)");
        }
      });
    }
    return p;
  }

  // ---- helpers -------------------------------------------------------------------------------------

  /** The Rotor container of a pod when it runs {@code rotor serve} (not the file writer alone). */
  static Optional<Container> rotorServe(Workload w) {
    return w.container(RenderedDemo.ROTOR).filter(c -> !c.getArgs().isEmpty() && c.getArgs().get(0).equals("serve"));
  }

  /** Values of a flag given as {@code --name=value} or {@code --name value}, in order. */
  static List<String> flag(Container c, String name) {
    List<String> args = c.getArgs();
    List<String> values = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.startsWith(name + "=")) {
        values.add(a.substring(name.length() + 1));
      } else if (a.equals(name) && i + 1 < args.size()) {
        values.add(args.get(++i));
      }
    }
    return values;
  }
}
