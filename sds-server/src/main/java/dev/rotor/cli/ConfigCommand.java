package dev.rotor.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.rotor.config.PolicyResources;
import dev.rotor.policy.Policy;
import dev.rotor.policy.Workload;
import dev.rotor.xds.envoy.SdsSecretConfigs;
import dev.rotor.xds.envoy.WorkloadResources;
import dev.rotor.xds.envoy.WorkloadResourcesBuilder;
import dev.rotor.xds.secret.SecretNaming;
import dev.rotor.xds.validate.ProtoConstraints;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rotor config dump}: the Envoy resources one node would get, without running Rotor. */
@Command(name = "config", mixinStandardHelpOptions = true,
    description = "Show generated Envoy configuration.",
    subcommands = {ConfigCommand.Dump.class})
final class ConfigCommand {

  @Command(name = "dump", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Print the listeners and clusters an Envoy gets from the policy, as YAML.", "",
          "For the Envoy with this node id. Secrets appear only by name (the SDS secrets they reference); no"
              + " key material is involved."})
  static final class Dump implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--policy", required = true, paramLabel = "FILE", description = "The policy YAML file.")
    Path policy;

    @Option(names = "--node", required = true, paramLabel = "NODE_ID", description = "The Envoy node id.")
    String node;

    @Override
    public Integer call() {
      Policy p = PolicyFiles.load("--policy", policy);
      Node envoy = Node.newBuilder().setId(node).build();
      PolicyResources resources;
      try {
        resources = PolicyResources.build(p, new WorkloadResourcesBuilder.Options(
            SdsSecretConfigs.overAds(SecretNaming.SPIRE_DEFAULTS), WorkloadResourcesBuilder.Options.DEFAULT_CONNECT_TIMEOUT));
      } catch (IllegalArgumentException e) {
        throw UsageException.of("--policy", e.getMessage());
      }
      Optional<Workload> workload = resources.workloadFor(envoy, Optional.empty());
      if (workload.isEmpty()) {
        throw UsageException.of("--node", "no workload in " + policy + " matches node id \"" + node
            + "\" (node ids: " + p.workloads().stream().flatMap(w -> w.match().nodeIds().stream()).toList() + ")");
      }
      WorkloadResources r = resources.resources(workload.get().name()).orElseThrow();
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("node", node);
      doc.put("workload", workload.get().name());
      doc.put("policy_version", p.contentVersion());
      List<Object> listeners = new ArrayList<>();
      r.listeners().forEach(l -> listeners.add(toYamlTree(l)));
      List<Object> clusters = new ArrayList<>();
      r.clusters().forEach(c -> clusters.add(toYamlTree(c)));
      doc.put("listeners", listeners);
      doc.put("clusters", clusters);
      doc.put("secrets_referenced", List.copyOf(referencedSecrets(listeners, clusters)));
      DumpSettings settings = DumpSettings.builder().setDefaultFlowStyle(FlowStyle.BLOCK).setIndent(2).build();
      spec.commandLine().getOut().print(new org.snakeyaml.engine.v2.api.Dump(settings).dumpToString(doc));
      return 0;
    }

    private static Object toYamlTree(Message m) {
      try {
        String json = JsonFormat.printer().preservingProtoFieldNames().usingTypeRegistry(ProtoConstraints.ENVOY_TYPES).print(m);
        return new Load(LoadSettings.builder().build()).loadFromString(json);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("cannot print " + m.getDescriptorForType().getFullName(), e);
      }
    }

    private static TreeSet<String> referencedSecrets(List<Object> listeners, List<Object> clusters) {
      TreeSet<String> names = new TreeSet<>();
      collectSecretNames(listeners, names);
      collectSecretNames(clusters, names);
      return names;
    }

    /** An SdsSecretConfig prints as a map with "name" and "sds_config": collect those names. */
    private static void collectSecretNames(Object node, TreeSet<String> names) {
      if (node instanceof Map<?, ?> map) {
        if (map.containsKey("sds_config") && map.get("name") instanceof String name) {
          names.add(name);
        }
        map.values().forEach(v -> collectSecretNames(v, names));
      } else if (node instanceof List<?> list) {
        list.forEach(v -> collectSecretNames(v, names));
      }
    }
  }
}
