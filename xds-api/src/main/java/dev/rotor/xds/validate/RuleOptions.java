package dev.rotor.xds.validate;

import com.google.protobuf.DescriptorProtos.FieldOptions;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.DescriptorProtos.OneofOptions;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import java.util.Optional;

/**
 * Reads protoc-gen-validate's options from descriptors. Generated Envoy classes register the
 * {@code validate} extensions when their descriptors are built, so the options are normally parsed
 * already; for descriptors built without that registration the options still hold the extension
 * as unknown fields (numbers 1071 and 1072), and are re-parsed here.
 */
final class RuleOptions {
  private RuleOptions() {}

  private static final int EXTENSION_NUMBER = 1071;
  private static final ExtensionRegistry EXTENSIONS = newRegistry();

  static Optional<FieldRules> rules(FieldDescriptor f) {
    FieldOptions o = f.getOptions();
    if (!o.hasExtension(Validate.rules) && o.getUnknownFields().hasField(EXTENSION_NUMBER)) {
      o = reparse(() -> FieldOptions.parseFrom(f.getOptions().toByteString(), EXTENSIONS));
    }
    return o.hasExtension(Validate.rules) ? Optional.of(o.getExtension(Validate.rules)) : Optional.empty();
  }

  static boolean required(OneofDescriptor oneof) {
    OneofOptions o = oneof.getOptions();
    if (!o.hasExtension(Validate.required) && o.getUnknownFields().hasField(EXTENSION_NUMBER)) {
      o = reparse(() -> OneofOptions.parseFrom(oneof.getOptions().toByteString(), EXTENSIONS));
    }
    return o.getExtension(Validate.required);
  }

  /** {@code validate.disabled} or {@code validate.ignored}: the message is not validated at all. */
  static boolean skipped(Descriptor d) {
    MessageOptions o = d.getOptions();
    if (!o.hasExtension(Validate.disabled) && !o.hasExtension(Validate.ignored)
        && (o.getUnknownFields().hasField(EXTENSION_NUMBER) || o.getUnknownFields().hasField(EXTENSION_NUMBER + 1))) {
      o = reparse(() -> MessageOptions.parseFrom(d.getOptions().toByteString(), EXTENSIONS));
    }
    return o.getExtension(Validate.disabled) || o.getExtension(Validate.ignored);
  }

  private interface Parse<T> {
    T parse() throws InvalidProtocolBufferException;
  }

  private static <T> T reparse(Parse<T> p) {
    try {
      return p.parse();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("descriptor options do not parse", e);
    }
  }

  private static ExtensionRegistry newRegistry() {
    ExtensionRegistry r = ExtensionRegistry.newInstance();
    Validate.registerAllExtensions(r);
    return r.getUnmodifiable();
  }
}
