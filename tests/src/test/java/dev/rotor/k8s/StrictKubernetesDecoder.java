package dev.rotor.k8s;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.BeanDeserializerBuilder;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.storage.CSIDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * Decodes kustomize output into fabric8's Kubernetes model classes, strictly: a field the
 * Kubernetes type does not have is an error, not a silently kept extra.
 *
 * <p>fabric8's generated classes accept unknown fields into an {@code additionalProperties} map
 * (a {@code @JsonAnySetter}); this decoder removes every any-setter, so Jackson's
 * FAIL_ON_UNKNOWN_PROPERTIES applies, and FAIL_ON_IGNORED_PROPERTIES rejects the one ignored
 * property those classes have ({@code additionalProperties} itself). Only the kinds the demo uses
 * are known, each under its exact apiVersion; anything else is an error too. Duplicate YAML keys
 * are rejected by the YAML loader.
 */
final class StrictKubernetesDecoder {

  /** apiVersion/kind -> model class. */
  static final Map<String, Class<? extends HasMetadata>> KINDS = Map.ofEntries(
      Map.entry("v1/Namespace", Namespace.class),
      Map.entry("v1/ServiceAccount", ServiceAccount.class),
      Map.entry("v1/ConfigMap", ConfigMap.class),
      Map.entry("v1/Secret", Secret.class),
      Map.entry("v1/Service", Service.class),
      Map.entry("v1/Pod", Pod.class),
      Map.entry("v1/PersistentVolumeClaim", PersistentVolumeClaim.class),
      Map.entry("apps/v1/Deployment", Deployment.class),
      Map.entry("apps/v1/StatefulSet", StatefulSet.class),
      Map.entry("apps/v1/DaemonSet", DaemonSet.class),
      Map.entry("batch/v1/Job", Job.class),
      Map.entry("rbac.authorization.k8s.io/v1/ClusterRole", ClusterRole.class),
      Map.entry("rbac.authorization.k8s.io/v1/ClusterRoleBinding", ClusterRoleBinding.class),
      Map.entry("rbac.authorization.k8s.io/v1/Role", Role.class),
      Map.entry("rbac.authorization.k8s.io/v1/RoleBinding", RoleBinding.class),
      Map.entry("storage.k8s.io/v1/CSIDriver", CSIDriver.class));

  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_IGNORED_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
      .addModule(new SimpleModule("no-additional-properties").setDeserializerModifier(new BeanDeserializerModifier() {
        @Override
        public BeanDeserializerBuilder updateBuilder(DeserializationConfig config, BeanDescription bean,
            BeanDeserializerBuilder builder) {
          builder.setAnySetter(null);
          return builder;
        }
      }))
      .build();

  private StrictKubernetesDecoder() {}

  /**
   * Every document of a multi-document YAML stream, decoded.
   *
   * @throws IllegalArgumentException naming the document (kind/name) and the JSON path of the first problem
   */
  static List<HasMetadata> decodeAll(String yaml) {
    Load load = new Load(LoadSettings.builder().setAllowDuplicateKeys(false).setLabel("kustomize output").build());
    List<HasMetadata> out = new ArrayList<>();
    int index = 0;
    for (Object document : load.loadAllFromString(yaml)) {
      if (document != null) {
        out.add(decode(MAPPER.valueToTree(document), index));
      }
      index++;
    }
    return out;
  }

  private static HasMetadata decode(JsonNode node, int index) {
    String apiVersion = node.path("apiVersion").asText("");
    String kind = node.path("kind").asText("");
    String where = "document " + index + " (" + apiVersion + " " + kind + " "
        + node.path("metadata").path("name").asText("<no name>") + ")";
    Class<? extends HasMetadata> type = KINDS.get(apiVersion + "/" + kind);
    if (type == null) {
      throw new IllegalArgumentException(where + ": unknown apiVersion/kind (expected one of " + KINDS.keySet().stream()
          .sorted().toList() + ")");
    }
    try {
      return MAPPER.treeToValue(node, type);
    } catch (JsonMappingException e) {
      throw new IllegalArgumentException(where + ": " + e.getOriginalMessage() + " at " + path(e), e);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(where + ": " + e.getOriginalMessage(), e);
    }
  }

  private static String path(JsonMappingException e) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      b.append(r.getFieldName() != null ? "." + r.getFieldName() : "[" + r.getIndex() + "]");
    }
    return b.length() == 0 ? "<root>" : b.substring(b.charAt(0) == '.' ? 1 : 0);
  }
}
