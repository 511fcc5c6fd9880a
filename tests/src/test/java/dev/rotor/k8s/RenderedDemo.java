package dev.rotor.k8s;

import static java.util.Objects.requireNonNull;

import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyException;
import dev.rotor.policy.PolicyParser;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The objects of one kustomize build, decoded, with the lookups the cross-reference checks need.
 * Mutable on purpose: the negative fixtures break one thing in a fresh copy and run the checks.
 */
final class RenderedDemo {
  static final String ROTOR = "rotor";
  static final String ENVOY = "envoy";

  final List<HasMetadata> objects;

  RenderedDemo(List<HasMetadata> objects) {
    this.objects = new ArrayList<>(requireNonNull(objects, "objects"));
  }

  /** A pod template with the object that owns it, for messages: {@code demo/Deployment/frontend}. */
  record Workload(String namespace, String kind, String name, Map<String, String> labels, PodSpec spec,
      List<String> claimTemplates) {
    Workload(String namespace, String kind, String name, Map<String, String> labels, PodSpec spec) {
      this(namespace, kind, name, labels, spec, List.of());
    }

    String where() {
      return namespace + "/" + kind + "/" + name;
    }

    Stream<Container> allContainers() {
      return Stream.concat(spec.getInitContainers().stream(), spec.getContainers().stream());
    }

    Optional<Container> container(String name) {
      return allContainers().filter(c -> c.getName().equals(name)).findFirst();
    }

    /** A pod volume or, for a StatefulSet, a volumeClaimTemplate of that name. */
    boolean definesVolume(String name) {
      return volume(name).isPresent() || claimTemplates.contains(name);
    }

    Optional<Volume> volume(String name) {
      return spec.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst();
    }

    /** The mount of {@code container} under which {@code path} lies (longest mountPath prefix). */
    Optional<VolumeMount> mountFor(Container container, String path) {
      return container.getVolumeMounts().stream()
          .filter(m -> path.equals(m.getMountPath()) || path.startsWith(m.getMountPath() + "/"))
          .max(Comparator.comparingInt(m -> m.getMountPath().length()));
    }
  }

  List<Workload> workloads() {
    List<Workload> out = new ArrayList<>();
    for (HasMetadata o : objects) {
      String ns = o.getMetadata().getNamespace();
      String name = o.getMetadata().getName();
      if (o instanceof Deployment d) {
        out.add(new Workload(ns, "Deployment", name, d.getSpec().getTemplate().getMetadata().getLabels(),
            d.getSpec().getTemplate().getSpec()));
      } else if (o instanceof StatefulSet s) {
        out.add(new Workload(ns, "StatefulSet", name, s.getSpec().getTemplate().getMetadata().getLabels(),
            s.getSpec().getTemplate().getSpec(),
            s.getSpec().getVolumeClaimTemplates().stream().map(c -> c.getMetadata().getName()).toList()));
      } else if (o instanceof DaemonSet s) {
        out.add(new Workload(ns, "DaemonSet", name, s.getSpec().getTemplate().getMetadata().getLabels(),
            s.getSpec().getTemplate().getSpec()));
      } else if (o instanceof Job j) {
        out.add(new Workload(ns, "Job", name, j.getSpec().getTemplate().getMetadata().getLabels(),
            j.getSpec().getTemplate().getSpec()));
      } else if (o instanceof Pod p) {
        out.add(new Workload(ns, "Pod", name, p.getMetadata().getLabels(), p.getSpec()));
      }
    }
    return out;
  }

  Optional<Workload> workload(String namespace, String name) {
    return workloads().stream().filter(w -> w.namespace().equals(namespace) && w.name().equals(name)).findFirst();
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }

  <T extends HasMetadata> Optional<T> find(Class<T> type, String namespace, String name) {
    return all(type).stream()
        .filter(o -> name.equals(o.getMetadata().getName()) && java.util.Objects.equals(namespace,
            o.getMetadata().getNamespace()))
        .findFirst();
  }

  /** A generated ConfigMap by the name it had before kustomize added the hash suffix. */
  ConfigMap generatedConfigMap(String namespace, String baseName) {
    return all(ConfigMap.class).stream()
        .filter(c -> namespace.equals(c.getMetadata().getNamespace()))
        .filter(c -> c.getMetadata().getName().equals(baseName)
            || c.getMetadata().getName().matches(java.util.regex.Pattern.quote(baseName) + "-[a-z0-9]{10}"))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no ConfigMap " + namespace + "/" + baseName + "[-hash] in the build"));
  }

  Optional<ServiceAccount> serviceAccount(String namespace, String name) {
    return find(ServiceAccount.class, namespace, name);
  }

  Optional<Service> service(String namespace, String name) {
    return find(Service.class, namespace, name);
  }

  boolean configMapExists(String namespace, String name) {
    return find(ConfigMap.class, namespace, name).isPresent();
  }

  boolean secretExists(String namespace, String name) {
    return find(Secret.class, namespace, name).isPresent();
  }

  /** The registration lists of the spire-register Job: every *.txt key of ConfigMap spire-registrations. */
  Registrations registrations() {
    List<Registrations.Entry> entries = new ArrayList<>();
    generatedConfigMap("spire", "spire-registrations").getData().entrySet().stream()
        .filter(e -> e.getKey().endsWith(".txt"))
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> entries.addAll(Registrations.parse(e.getValue()).entries()));
    return new Registrations(entries);
  }

  /** The policy a pod's Rotor reads (--policy, through its ConfigMap mount), parsed by Rotor's own parser. */
  Optional<Policy> policyOf(Workload w) {
    Optional<Container> rotor = w.container(ROTOR);
    List<String> flag = rotor.map(c -> DemoChecks.flag(c, "--policy")).orElse(List.of());
    if (flag.isEmpty()) {
      return Optional.empty();
    }
    String path = flag.get(0);
    VolumeMount mount = w.mountFor(rotor.get(), path)
        .orElseThrow(() -> new AssertionError(w.where() + ": --policy " + path + " is on no volume of the rotor container"));
    Volume volume = w.volume(mount.getName()).filter(v -> v.getConfigMap() != null)
        .orElseThrow(() -> new AssertionError(w.where() + ": --policy " + path + " is not on a ConfigMap volume"));
    String key = path.substring(mount.getMountPath().length() + 1);
    String text = find(ConfigMap.class, w.namespace(), volume.getConfigMap().getName())
        .map(cm -> cm.getData().get(key))
        .orElseThrow(() -> new AssertionError(w.where() + ": --policy " + path + ": ConfigMap "
            + volume.getConfigMap().getName() + " or its key " + key + " is missing"));
    try {
      return Optional.of(PolicyParser.parse(volume.getConfigMap().getName() + "/" + key, text));
    } catch (PolicyException e) {
      throw new AssertionError(w.where() + ": the policy it mounts does not parse: " + e.getMessage(), e);
    }
  }
}
