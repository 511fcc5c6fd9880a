package dev.rotor.xds.validate;

import static dev.rotor.xds.validate.Violations.quote;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import io.envoyproxy.pgv.validate.Validate.FieldRules.TypeCase;
import io.envoyproxy.pgv.validate.Validate.MapRules;
import io.envoyproxy.pgv.validate.Validate.RepeatedRules;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One validation run: walks a message and everything under it (including the contents of {@code
 * Any} fields, unpacked through the type registry) and applies the rules found in the descriptors.
 * Not thread-safe; {@link ProtoConstraints} makes a new one per call.
 */
final class MessageWalker {
  private static final String ANY = "google.protobuf.Any";
  private static final Set<String> REPEATED_RULES = Set.of("min_items", "max_items", "unique", "items", "ignore_empty");
  private static final Set<String> MAP_RULES = Set.of("min_pairs", "max_pairs", "no_sparse", "keys", "values", "ignore_empty");
  private static final FieldRules NO_RULES = FieldRules.getDefaultInstance();

  private final TypeRegistry types;
  private final Violations out = new Violations();

  MessageWalker(TypeRegistry types) {
    this.types = types;
  }

  List<Violation> violations() {
    return out.toList();
  }

  void message(Message m, String path) {
    Descriptor d = m.getDescriptorForType();
    if (d.getFullName().equals(ANY)) {
      any(m, path);
      return;
    }
    if (RuleOptions.skipped(d)) {
      return;
    }
    if (!m.getUnknownFields().asMap().isEmpty()) {
      // Not a PGV rule: Rotor builds its messages from these descriptors, so unknown fields mean
      // an Any whose bytes do not fit its type URL.
      out.add(path, "message.unknown_fields", "fields " + m.getUnknownFields().asMap().keySet()
          + " are unknown to " + d.getFullName() + " (expected: none)");
    }
    for (OneofDescriptor o : d.getRealOneofs()) {
      if (RuleOptions.required(o) && !m.hasOneof(o)) {
        out.add(join(path, o.getName()), "oneof.required", "none of "
            + o.getFields().stream().map(FieldDescriptor::getName).collect(Collectors.joining(", ", "[", "]"))
            + " is set (expected: exactly one)");
      }
    }
    for (FieldDescriptor f : d.getFields()) {
      field(m, f, join(path, f.getName()));
    }
  }

  private void field(Message m, FieldDescriptor f, String path) {
    FieldRules r = RuleOptions.rules(f).orElse(NO_RULES);
    if (f.isMapField()) {
      map(m, f, r, path);
    } else if (f.isRepeated()) {
      repeated(m, f, r, path);
    } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
      if (!m.hasField(f)) {
        if (f.getRealContainingOneof() == null) {
          requiredButUnset(r, path);
        }
        return;
      }
      Message v = (Message) m.getField(f);
      ValueRules.apply(r, f, v, path, out);
      if (!r.getMessage().getSkip()) {
        message(v, path);
      }
    } else if (!f.hasPresence() || m.hasField(f)) {
      // proto3 scalars without presence always carry a value (possibly the default) and are checked;
      // oneof members and `optional` scalars only when set.
      ValueRules.apply(r, f, m.getField(f), path, out);
    }
  }

  private void requiredButUnset(FieldRules r, String path) {
    if (r.getMessage().getRequired()) {
      out.add(path, "message.required", "is not set (expected: set)");
    } else if (r.getTypeCase() == TypeCase.DURATION && r.getDuration().getRequired()) {
      out.add(path, "duration.required", "is not set (expected: a duration)");
    } else if (r.getTypeCase() == TypeCase.TIMESTAMP && r.getTimestamp().getRequired()) {
      out.add(path, "timestamp.required", "is not set (expected: a timestamp)");
    } else if (r.getTypeCase() == TypeCase.ANY && r.getAny().getRequired()) {
      out.add(path, "any.required", "is not set (expected: a packed message)");
    }
  }

  private void repeated(Message m, FieldDescriptor f, FieldRules r, String path) {
    int n = m.getRepeatedFieldCount(f);
    RepeatedRules rr = null;
    if (r.getTypeCase() == TypeCase.REPEATED) {
      rr = r.getRepeated();
      out.requireKnownRules(path, "repeated", rr, REPEATED_RULES);
      if (!(rr.getIgnoreEmpty() && n == 0)) {
        if (rr.hasMinItems() && n < rr.getMinItems()) {
          out.add(path, "repeated.min_items", n + " items (expected: at least " + rr.getMinItems() + ")");
        }
        if (rr.hasMaxItems() && n > rr.getMaxItems()) {
          out.add(path, "repeated.max_items", n + " items (expected: at most " + rr.getMaxItems() + ")");
        }
        if (rr.getUnique()) {
          Map<Object, Integer> seen = new HashMap<>();
          for (int i = 0; i < n; i++) {
            Integer first = seen.putIfAbsent(m.getRepeatedField(f, i), i);
            if (first != null) {
              out.add(path + "[" + i + "]", "repeated.unique", "equals item [" + first + "] (expected: unique items)");
            }
          }
        }
      }
    } else if (r.getTypeCase() != TypeCase.TYPE_NOT_SET) {
      out.unsupported(path, ValueRules.kindName(r.getTypeCase()), "rules on a repeated field (expected: repeated.items)");
    }
    boolean skip = r.getMessage().getSkip() || (rr != null && rr.getItems().getMessage().getSkip());
    for (int i = 0; i < n; i++) {
      Object item = m.getRepeatedField(f, i);
      String itemPath = path + "[" + i + "]";
      if (rr != null && rr.hasItems()) {
        ValueRules.apply(rr.getItems(), f, item, itemPath, out);
      }
      if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !skip) {
        message((Message) item, itemPath);
      }
    }
  }

  private void map(Message m, FieldDescriptor f, FieldRules r, String path) {
    FieldDescriptor keyField = f.getMessageType().findFieldByName("key");
    FieldDescriptor valueField = f.getMessageType().findFieldByName("value");
    int n = m.getRepeatedFieldCount(f);
    MapRules mr = null;
    if (r.getTypeCase() == TypeCase.MAP) {
      mr = r.getMap();
      // no_sparse forbids unset message values; a Java map entry always has one, so it holds.
      out.requireKnownRules(path, "map", mr, MAP_RULES);
      if (!(mr.getIgnoreEmpty() && n == 0)) {
        if (mr.hasMinPairs() && n < mr.getMinPairs()) {
          out.add(path, "map.min_pairs", n + " pairs (expected: at least " + mr.getMinPairs() + ")");
        }
        if (mr.hasMaxPairs() && n > mr.getMaxPairs()) {
          out.add(path, "map.max_pairs", n + " pairs (expected: at most " + mr.getMaxPairs() + ")");
        }
      }
    } else if (r.getTypeCase() != TypeCase.TYPE_NOT_SET) {
      out.unsupported(path, ValueRules.kindName(r.getTypeCase()), "rules on a map field (expected: map.keys/values)");
    }
    boolean skip = r.getMessage().getSkip() || (mr != null && mr.getValues().getMessage().getSkip());
    for (int i = 0; i < n; i++) {
      Message entry = (Message) m.getRepeatedField(f, i);
      Object key = entry.getField(keyField);
      Object value = entry.getField(valueField);
      String entryPath = path + "[" + (key instanceof String s ? quote(s) : String.valueOf(key)) + "]";
      if (mr != null && mr.hasKeys()) {
        ValueRules.apply(mr.getKeys(), keyField, key, entryPath + ".key", out);
      }
      if (mr != null && mr.hasValues()) {
        ValueRules.apply(mr.getValues(), valueField, value, entryPath, out);
      }
      if (valueField.getJavaType() == FieldDescriptor.JavaType.MESSAGE && !skip) {
        message((Message) value, entryPath);
      }
    }
  }

  /**
   * The contents of an Any, validated as what its type URL says. A type the registry does not know
   * is a violation: Envoy would reject it (or, worse, ignore it), and skipping it would hide it.
   */
  private void any(Message any, String path) {
    Descriptor d = any.getDescriptorForType();
    String typeUrl = (String) any.getField(d.findFieldByName("type_url"));
    ByteString bytes = (ByteString) any.getField(d.findFieldByName("value"));
    Descriptor type;
    try {
      type = types.getDescriptorForTypeUrl(typeUrl);
    } catch (InvalidProtocolBufferException e) {
      type = null;
    }
    if (type == null) {
      out.add(path, "any.known_type", quote(typeUrl)
          + " is not a type Rotor knows (expected: type.googleapis.com/<one of the Envoy types in the type registry>)");
      return;
    }
    Message inner;
    try {
      inner = DynamicMessage.parseFrom(type, bytes);
    } catch (InvalidProtocolBufferException e) {
      out.add(path, "any.decodable", bytes.size() + " bytes do not decode as " + type.getFullName()
          + " (expected: a valid encoding)");
      return;
    }
    message(inner, path + "(" + type.getFullName() + ")");
  }

  private static String join(String path, String name) {
    return path.isEmpty() ? name : path + "." + name;
  }
}
