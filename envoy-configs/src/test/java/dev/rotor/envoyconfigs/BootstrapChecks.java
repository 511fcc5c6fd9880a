package dev.rotor.envoyconfigs;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/**
 * Checks on a parsed {@link Bootstrap} that Envoy makes only at run time, or only as warnings:
 * a cluster named somewhere but not defined (Envoy refuses to start, or an xDS stream never
 * connects), and deprecated fields (a warning today, fatal in a later Envoy).
 */
final class BootstrapChecks {

  private BootstrapChecks() {}

  /**
   * Every place that names a cluster which {@code static_resources.clusters} does not define,
   * as {@code path: name (defined: [...])}; empty when all references resolve. References are
   * found anywhere in the message, Anys included: {@code envoy_grpc.cluster_name} of any
   * {@code GrpcService} (ADS, and any other gRPC service a later edit adds) and {@code
   * cluster_names} of any REST {@code ApiConfigSource}.
   */
  static List<String> undefinedClusterReferences(Bootstrap bootstrap, TypeRegistry types) {
    Set<String> defined = new TreeSet<>();
    for (Cluster c : bootstrap.getStaticResources().getClustersList()) {
      defined.add(c.getName());
    }
    List<String> problems = new ArrayList<>();
    walk(bootstrap, "", types, (path, message) -> {
      if (message.getDescriptorForType().equals(GrpcService.EnvoyGrpc.getDescriptor())) {
        String name = stringField(message, "cluster_name");
        if (!defined.contains(name)) {
          problems.add(path + ".cluster_name: \"" + name + "\" (defined: " + defined + ")");
        }
      } else if (message.getDescriptorForType().equals(ApiConfigSource.getDescriptor())) {
        FieldDescriptor f = message.getDescriptorForType().findFieldByName("cluster_names");
        for (int i = 0; i < message.getRepeatedFieldCount(f); i++) {
          String name = (String) message.getRepeatedField(f, i);
          if (!defined.contains(name)) {
            problems.add(path + ".cluster_names[" + i + "]: \"" + name + "\" (defined: " + defined + ")");
          }
        }
      }
    });
    return problems;
  }

  /** The paths of set fields and enum values marked {@code deprecated} in Envoy's protos. */
  static List<String> deprecatedInUse(Bootstrap bootstrap, TypeRegistry types) {
    List<String> found = new ArrayList<>();
    walk(bootstrap, "", types, (path, message) -> {
      for (Map.Entry<FieldDescriptor, Object> e : message.getAllFields().entrySet()) {
        FieldDescriptor f = e.getKey();
        String at = path.isEmpty() ? f.getName() : path + "." + f.getName();
        if (f.getOptions().getDeprecated()) {
          found.add(at);
        }
        if (f.getType() == FieldDescriptor.Type.ENUM) {
          List<?> values = f.isRepeated() ? (List<?>) e.getValue() : List.of(e.getValue());
          for (Object v : values) {
            EnumValueDescriptor value = (EnumValueDescriptor) v;
            if (value.getOptions().getDeprecated()) {
              found.add(at + " = " + value.getName());
            }
          }
        }
      }
    });
    return found;
  }

  /**
   * Calls {@code visitor} with every message in the tree under {@code message}, itself first,
   * with its path ({@code dynamic_resources.ads_config.grpc_services[0]}); an {@code Any} is
   * unpacked through {@code types} and its content visited under {@code path(type name)}.
   *
   * @throws IllegalArgumentException for an {@code Any} whose type {@code types} does not know
   */
  static void walk(Message message, String path, TypeRegistry types, BiConsumer<String, Message> visitor) {
    requireNonNull(types, "types");
    visitor.accept(path, message);
    if (message.getDescriptorForType().equals(Any.getDescriptor())) {
      String typeUrl = stringField(message, "type_url");
      Descriptor type;
      try {
        type = types.getDescriptorForTypeUrl(typeUrl);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException(path + ": bad type URL " + typeUrl, e);
      }
      if (type == null) {
        throw new IllegalArgumentException(path + ": Any of unknown type " + typeUrl);
      }
      DynamicMessage content;
      try {
        content = DynamicMessage.parseFrom(type,
            (ByteString) message.getField(message.getDescriptorForType().findFieldByName("value")));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException(path + ": cannot unpack " + typeUrl, e);
      }
      walk(content, path + "(" + type.getFullName() + ")", types, visitor);
      return;
    }
    for (Map.Entry<FieldDescriptor, Object> e : message.getAllFields().entrySet()) {
      FieldDescriptor f = e.getKey();
      if (f.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
        continue;
      }
      String at = path.isEmpty() ? f.getName() : path + "." + f.getName();
      if (f.isMapField()) {
        for (Object entry : (List<?>) e.getValue()) {
          Message m = (Message) entry;
          Object key = m.getField(f.getMessageType().findFieldByName("key"));
          Object value = m.getField(f.getMessageType().findFieldByName("value"));
          if (value instanceof Message v) {
            walk(v, at + "[\"" + key + "\"]", types, visitor);
          }
        }
      } else if (f.isRepeated()) {
        List<?> items = (List<?>) e.getValue();
        for (int i = 0; i < items.size(); i++) {
          walk((Message) items.get(i), at + "[" + i + "]", types, visitor);
        }
      } else {
        walk((Message) e.getValue(), at, types, visitor);
      }
    }
  }

  private static String stringField(Message message, String name) {
    return (String) message.getField(message.getDescriptorForType().findFieldByName(name));
  }
}
