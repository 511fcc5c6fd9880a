package dev.rotor.envoyconfigs;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * YAML to JSON the way Envoy reads a bootstrap (YAML is loaded, converted to JSON, then parsed
 * as a proto), but stricter where YAML would hide a mistake from the proto parser: a duplicate
 * key is an error (YAML keeps the last one silently), and so is a key with no value, because
 * proto3 JSON reads {@code null} as "not set" and {@code ads:} would quietly drop the ADS
 * config source.
 */
final class YamlJson {

  private YamlJson() {}

  /** The JSON text of one YAML document; errors name the path to the bad node. */
  static String toJson(String yaml) {
    requireNonNull(yaml, "yaml");
    LoadSettings settings = LoadSettings.builder()
        .setAllowDuplicateKeys(false)
        .setLabel("bootstrap")
        .build();
    Object document = new Load(settings).loadFromString(yaml);
    if (!(document instanceof Map)) {
      throw new IllegalArgumentException("<root>: " + describe(document) + " (expected: a mapping)");
    }
    return convert(document, "").toString();
  }

  private static JsonElement convert(Object node, String path) {
    if (node instanceof Map<?, ?> map) {
      JsonObject object = new JsonObject();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!(e.getKey() instanceof String key)) {
          throw new IllegalArgumentException(at(path) + ": key " + describe(e.getKey()) + " (expected: a string)");
        }
        object.add(key, convert(e.getValue(), path.isEmpty() ? key : path + "." + key));
      }
      return object;
    }
    if (node instanceof List<?> list) {
      JsonArray array = new JsonArray();
      for (int i = 0; i < list.size(); i++) {
        array.add(convert(list.get(i), path + "[" + i + "]"));
      }
      return array;
    }
    if (node instanceof String s) {
      return new JsonPrimitive(s);
    }
    if (node instanceof Boolean b) {
      return new JsonPrimitive(b);
    }
    if (node instanceof Integer || node instanceof Long || node instanceof BigInteger) {
      return new JsonPrimitive((Number) node);
    }
    if (node instanceof Double d && Double.isFinite(d)) {
      return new JsonPrimitive(d);
    }
    throw new IllegalArgumentException(at(path) + ": " + describe(node)
        + " (expected: a mapping, list, string, number or boolean; write {} for an empty message)");
  }

  private static String at(String path) {
    return path.isEmpty() ? "<root>" : path;
  }

  private static String describe(Object node) {
    return node == null ? "no value" : node.getClass().getSimpleName() + " " + node;
  }
}
