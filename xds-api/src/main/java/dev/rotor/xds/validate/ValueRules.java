package dev.rotor.xds.validate;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.envoyproxy.pgv.validate.Validate.EnumRules;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import io.envoyproxy.pgv.validate.Validate.FieldRules.TypeCase;
import java.util.Map;
import java.util.Set;

/**
 * Applies the type-specific part of a {@link FieldRules} to one value: a singular field's value,
 * one element of a repeated field, or one key or value of a map. Rules whose kind does not fit the
 * field's type (which protoc-gen-validate itself would refuse) are reported as unsupported.
 */
final class ValueRules {
  private ValueRules() {}

  private static final Set<String> BOOL_RULES = Set.of("const");
  private static final Set<String> ENUM_RULES = Set.of("const", "defined_only", "in", "not_in");

  /** Wrapper types carry the scalar rules of their {@code value} field. */
  private static final Map<String, TypeCase> WRAPPERS = Map.of(
      "google.protobuf.DoubleValue", TypeCase.DOUBLE,
      "google.protobuf.FloatValue", TypeCase.FLOAT,
      "google.protobuf.Int64Value", TypeCase.INT64,
      "google.protobuf.UInt64Value", TypeCase.UINT64,
      "google.protobuf.Int32Value", TypeCase.INT32,
      "google.protobuf.UInt32Value", TypeCase.UINT32,
      "google.protobuf.BoolValue", TypeCase.BOOL,
      "google.protobuf.StringValue", TypeCase.STRING,
      "google.protobuf.BytesValue", TypeCase.BYTES);

  static void apply(FieldRules r, FieldDescriptor field, Object value, String path, Violations out) {
    TypeCase kind = r.getTypeCase();
    if (kind == TypeCase.TYPE_NOT_SET) {
      return;
    }
    TypeCase expected = expectedKind(field);
    if (kind != expected) {
      out.unsupported(path, kindName(kind), "rules on a field of type " + typeName(field));
      return;
    }
    Object v = value;
    if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE && WRAPPERS.containsKey(field.getMessageType().getFullName())) {
      Message wrapper = (Message) value;
      v = wrapper.getField(wrapper.getDescriptorForType().findFieldByName("value"));
    }
    switch (kind) {
      case FLOAT, DOUBLE, INT32, INT64, UINT32, UINT64, SINT32, SINT64, FIXED32, FIXED64, SFIXED32, SFIXED64 ->
          NumberRules.check(kindName(kind), (Message) r.getField(kindField(kind)), v, path, out);
      case BOOL -> {
        out.requireKnownRules(path, "bool", r.getBool(), BOOL_RULES);
        if (r.getBool().hasConst() && r.getBool().getConst() != (Boolean) v) {
          out.add(path, "bool.const", v + " (expected: " + r.getBool().getConst() + ")");
        }
      }
      case STRING -> TextRules.checkString(r.getString(), (String) v, path, out);
      case BYTES -> TextRules.checkBytes(r.getBytes(), (ByteString) v, path, out);
      case ENUM -> checkEnum(r.getEnum(), field, (EnumValueDescriptor) v, path, out);
      case DURATION -> MessageKindRules.checkDuration(r.getDuration(), (Message) v, path, out);
      case TIMESTAMP -> MessageKindRules.checkTimestamp(r.getTimestamp(), (Message) v, path, out);
      case ANY -> MessageKindRules.checkAny(r.getAny(), (Message) v, path, out);
      default -> out.unsupported(path, kindName(kind), "rules on a single value");
    }
  }

  /** The rule kind that fits a (non-repeated view of a) field, or TYPE_NOT_SET if none does. */
  static TypeCase expectedKind(FieldDescriptor f) {
    return switch (f.getType()) {
      case DOUBLE -> TypeCase.DOUBLE;
      case FLOAT -> TypeCase.FLOAT;
      case INT64 -> TypeCase.INT64;
      case UINT64 -> TypeCase.UINT64;
      case INT32 -> TypeCase.INT32;
      case FIXED64 -> TypeCase.FIXED64;
      case FIXED32 -> TypeCase.FIXED32;
      case BOOL -> TypeCase.BOOL;
      case STRING -> TypeCase.STRING;
      case BYTES -> TypeCase.BYTES;
      case UINT32 -> TypeCase.UINT32;
      case ENUM -> TypeCase.ENUM;
      case SFIXED32 -> TypeCase.SFIXED32;
      case SFIXED64 -> TypeCase.SFIXED64;
      case SINT32 -> TypeCase.SINT32;
      case SINT64 -> TypeCase.SINT64;
      case MESSAGE -> switch (f.getMessageType().getFullName()) {
        case "google.protobuf.Duration" -> TypeCase.DURATION;
        case "google.protobuf.Timestamp" -> TypeCase.TIMESTAMP;
        case "google.protobuf.Any" -> TypeCase.ANY;
        default -> WRAPPERS.getOrDefault(f.getMessageType().getFullName(), TypeCase.TYPE_NOT_SET);
      };
      case GROUP -> TypeCase.TYPE_NOT_SET;
    };
  }

  /** The name validate.proto gives a rule kind: {@code uint32}, {@code string}, {@code repeated}, ... */
  static String kindName(TypeCase kind) {
    return kindField(kind).getName();
  }

  private static FieldDescriptor kindField(TypeCase kind) {
    return FieldRules.getDescriptor().findFieldByNumber(kind.getNumber());
  }

  private static String typeName(FieldDescriptor f) {
    return f.getJavaType() == FieldDescriptor.JavaType.MESSAGE
        ? f.getMessageType().getFullName()
        : f.getType().name().toLowerCase(java.util.Locale.ROOT);
  }

  private static void checkEnum(EnumRules r, FieldDescriptor field, EnumValueDescriptor v, String path, Violations out) {
    out.requireKnownRules(path, "enum", r, ENUM_RULES);
    int n = v.getNumber();
    String shown = field.getEnumType().findValueByNumber(n) != null ? v.getName() + " (" + n + ")" : String.valueOf(n);
    if (r.hasConst() && n != r.getConst()) {
      out.add(path, "enum.const", shown + " (expected: " + r.getConst() + ")");
    }
    if (r.getDefinedOnly() && field.getEnumType().findValueByNumber(n) == null) {
      out.add(path, "enum.defined_only", shown + " (expected: a value defined in " + field.getEnumType().getFullName() + ")");
    }
    if (r.getInCount() > 0 && !r.getInList().contains(n)) {
      out.add(path, "enum.in", shown + " (expected: one of " + r.getInList() + ")");
    }
    if (r.getNotInList().contains(n)) {
      out.add(path, "enum.not_in", shown + " (expected: none of " + r.getNotInList() + ")");
    }
  }
}
