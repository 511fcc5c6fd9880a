package dev.rotor.xds.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.rotor.xds.validate.ProtoConstraints;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Test helper: every message inside a message, Any contents included (unpacked as DynamicMessages). */
final class MessageTree {
  private MessageTree() {}

  static List<Message> all(Message root) {
    List<Message> out = new ArrayList<>();
    walk(root, out);
    return out;
  }

  /** All messages of the given type, anywhere in the tree. */
  static List<Message> ofType(Message root, Descriptor type) {
    return all(root).stream().filter(m -> m.getDescriptorForType().getFullName().equals(type.getFullName())).toList();
  }

  /** The Any contents of the given type, anywhere in the tree, parsed as {@code T}. */
  static <T extends Message> List<T> unpacked(Message root, T prototype) {
    return ofType(root, prototype.getDescriptorForType()).stream().map(m -> {
      try {
        @SuppressWarnings("unchecked")
        T t = (T) prototype.getParserForType().parseFrom(m.toByteString());
        return t;
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
    }).toList();
  }

  private static void walk(Message m, List<Message> out) {
    out.add(m);
    if (m.getDescriptorForType().getFullName().equals(Any.getDescriptor().getFullName())) {
      Descriptor d = m.getDescriptorForType();
      String typeUrl = (String) m.getField(d.findFieldByName("type_url"));
      try {
        Descriptor type = ProtoConstraints.ENVOY_TYPES.getDescriptorForTypeUrl(typeUrl);
        if (type == null) {
          throw new AssertionError("unknown type in Any: " + typeUrl);
        }
        walk(DynamicMessage.parseFrom(type, (com.google.protobuf.ByteString) m.getField(d.findFieldByName("value"))), out);
      } catch (InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
      return;
    }
    for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
      if (e.getKey().getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
        continue;
      }
      if (e.getKey().isRepeated()) {
        for (Object item : (List<?>) e.getValue()) {
          walk((Message) item, out);
        }
      } else {
        walk((Message) e.getValue(), out);
      }
    }
  }
}
