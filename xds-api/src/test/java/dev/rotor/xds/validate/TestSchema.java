package dev.rotor.xds.validate;

import com.google.protobuf.AnyProto;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldOptions;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DurationProto;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TimestampProto;
import com.google.protobuf.WrappersProto;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds throw-away proto3 message types at run time with chosen validate options, so each rule
 * kind can be tested on its own, independently of where Envoy happens to use it.
 */
final class TestSchema {
  private final DescriptorProto.Builder message = DescriptorProto.newBuilder().setName("T");
  private final List<String> oneofs = new ArrayList<>();
  private int next = 1;

  static TestSchema message() {
    return new TestSchema();
  }

  TestSchema field(String name, FieldDescriptorProto.Type type, FieldRules rules) {
    return add(base(name, type).setOptions(options(rules)));
  }

  /** A message-typed field, e.g. {@code .google.protobuf.Duration}, or {@code .t.T} for recursion. */
  TestSchema messageField(String name, String typeName, FieldRules rules) {
    return add(base(name, FieldDescriptorProto.Type.TYPE_MESSAGE).setTypeName(typeName).setOptions(options(rules)));
  }

  TestSchema repeated(String name, FieldDescriptorProto.Type type, FieldRules rules) {
    return add(base(name, type).setLabel(FieldDescriptorProto.Label.LABEL_REPEATED).setOptions(options(rules)));
  }

  TestSchema enumField(String name, FieldRules rules) {
    return add(base(name, FieldDescriptorProto.Type.TYPE_ENUM).setTypeName(".t.Color").setOptions(options(rules)));
  }

  /** {@code map<string, string> name}. */
  TestSchema stringMap(String name, FieldRules rules) {
    String entry = Character.toUpperCase(name.charAt(0)) + name.substring(1) + "Entry";
    message.addNestedType(DescriptorProto.newBuilder()
        .setName(entry)
        .setOptions(MessageOptions.newBuilder().setMapEntry(true))
        .addField(base("key", FieldDescriptorProto.Type.TYPE_STRING).setNumber(1))
        .addField(base("value", FieldDescriptorProto.Type.TYPE_STRING).setNumber(2)));
    return add(base(name, FieldDescriptorProto.Type.TYPE_MESSAGE)
        .setLabel(FieldDescriptorProto.Label.LABEL_REPEATED)
        .setTypeName(".t.T." + entry)
        .setOptions(options(rules)));
  }

  /** A proto3 {@code optional} scalar (presence through a synthetic oneof). */
  TestSchema optional(String name, FieldDescriptorProto.Type type, FieldRules rules) {
    int oneofIndex = addOneof("_" + name);
    return add(base(name, type).setProto3Optional(true).setOneofIndex(oneofIndex).setOptions(options(rules)));
  }

  /** A scalar in a real oneof named {@code oneof}. */
  TestSchema inOneof(String oneof, String name, FieldDescriptorProto.Type type, FieldRules rules) {
    int index = oneofs.indexOf(oneof);
    if (index < 0) {
      index = addOneof(oneof);
    }
    return add(base(name, type).setOneofIndex(index).setOptions(options(rules)));
  }

  /** Options carried as unknown fields, as when a descriptor is built without PGV's extensions registered. */
  TestSchema fieldWithUnparsedOptions(String name, FieldDescriptorProto.Type type, FieldRules rules) {
    try {
      FieldOptions unparsed = FieldOptions.parseFrom(options(rules).toByteString());
      return add(base(name, type).setOptions(unparsed));
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  TestSchema disabled() {
    message.setOptions(MessageOptions.newBuilder().setExtension(Validate.disabled, true));
    return this;
  }

  Descriptor build() {
    FileDescriptorProto file = FileDescriptorProto.newBuilder()
        .setName("t/test_" + System.identityHashCode(this) + ".proto")
        .setPackage("t")
        .setSyntax("proto3")
        .addDependency("google/protobuf/duration.proto")
        .addDependency("google/protobuf/timestamp.proto")
        .addDependency("google/protobuf/wrappers.proto")
        .addDependency("google/protobuf/any.proto")
        .addEnumType(EnumDescriptorProto.newBuilder()
            .setName("Color")
            .addValue(EnumValueDescriptorProto.newBuilder().setName("COLOR_UNSPECIFIED").setNumber(0))
            .addValue(EnumValueDescriptorProto.newBuilder().setName("RED").setNumber(1))
            .addValue(EnumValueDescriptorProto.newBuilder().setName("GREEN").setNumber(2)))
        .addMessageType(message)
        .build();
    try {
      return FileDescriptor.buildFrom(file, new FileDescriptor[] {
          DurationProto.getDescriptor(), TimestampProto.getDescriptor(), WrappersProto.getDescriptor(),
          AnyProto.getDescriptor()}).findMessageTypeByName("T");
    } catch (DescriptorValidationException e) {
      throw new AssertionError(e);
    }
  }

  static DynamicMessage.Builder builder(Descriptor d) {
    return DynamicMessage.newBuilder(d);
  }

  private TestSchema add(FieldDescriptorProto.Builder f) {
    message.addField(f.setNumber(next++));
    return this;
  }

  private int addOneof(String name) {
    message.addOneofDecl(OneofDescriptorProto.newBuilder().setName(name));
    oneofs.add(name);
    return oneofs.size() - 1;
  }

  private static FieldDescriptorProto.Builder base(String name, FieldDescriptorProto.Type type) {
    return FieldDescriptorProto.newBuilder()
        .setName(name)
        .setType(type)
        .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL);
  }

  private static FieldOptions options(FieldRules rules) {
    return FieldOptions.newBuilder().setExtension(Validate.rules, rules).build();
  }
}
