package dev.rotor.xds.validate;

import static com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_BYTES;
import static com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_DOUBLE;
import static com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_INT32;
import static com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_STRING;
import static com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_UINT32;
import static com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_UINT64;
import static com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type.TYPE_BOOL;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import com.google.protobuf.StringValue;
import com.google.protobuf.Timestamp;
import io.envoyproxy.pgv.validate.Validate.AnyRules;
import io.envoyproxy.pgv.validate.Validate.BoolRules;
import io.envoyproxy.pgv.validate.Validate.BytesRules;
import io.envoyproxy.pgv.validate.Validate.DoubleRules;
import io.envoyproxy.pgv.validate.Validate.DurationRules;
import io.envoyproxy.pgv.validate.Validate.EnumRules;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import io.envoyproxy.pgv.validate.Validate.Int32Rules;
import io.envoyproxy.pgv.validate.Validate.KnownRegex;
import io.envoyproxy.pgv.validate.Validate.MapRules;
import io.envoyproxy.pgv.validate.Validate.MessageRules;
import io.envoyproxy.pgv.validate.Validate.RepeatedRules;
import io.envoyproxy.pgv.validate.Validate.StringRules;
import io.envoyproxy.pgv.validate.Validate.TimestampRules;
import io.envoyproxy.pgv.validate.Validate.UInt32Rules;
import io.envoyproxy.pgv.validate.Validate.UInt64Rules;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each rule kind of validate.proto on a one-field message built at run time. */
class RuleKindsTest {

  private static List<String> rulesBroken(Descriptor d, String field, Object value) {
    Message m = TestSchema.builder(d).setField(d.findFieldByName(field), value).build();
    return ProtoConstraints.validate(m).stream().map(Violation::rule).toList();
  }

  private static List<String> rulesBroken(Message m) {
    return ProtoConstraints.validate(m).stream().map(Violation::rule).toList();
  }

  private static Descriptor one(com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type type, FieldRules rules) {
    return TestSchema.message().field("f", type, rules).build();
  }

  private static FieldRules string(StringRules.Builder r) {
    return FieldRules.newBuilder().setString(r).build();
  }

  // --- numbers ---

  @Test
  void uint32_gtAboveLt_meansOutsideTheRange() {
    Descriptor d = one(TYPE_UINT32, FieldRules.newBuilder().setUint32(UInt32Rules.newBuilder().setGt(10).setLt(5)).build());
    assertThat(rulesBroken(d, "f", 7)).containsExactly("uint32.range");
    assertThat(rulesBroken(d, "f", 3)).isEmpty();
    assertThat(rulesBroken(d, "f", 11)).isEmpty();
  }

  @Test
  void uint32_gtBelowLt_meansInsideTheRange() {
    Descriptor d = one(TYPE_UINT32, FieldRules.newBuilder().setUint32(UInt32Rules.newBuilder().setGt(0).setLte(8192)).build());
    assertThat(rulesBroken(d, "f", 0)).containsExactly("uint32.gt");
    assertThat(rulesBroken(d, "f", 8193)).containsExactly("uint32.lte");
    assertThat(rulesBroken(d, "f", 1)).isEmpty();
  }

  @Test
  void uint32_comparesUnsigned() {
    Descriptor d = one(TYPE_UINT32, FieldRules.newBuilder().setUint32(UInt32Rules.newBuilder().setLte(65535)).build());
    assertThat(ProtoConstraints.validate(TestSchema.builder(d).setField(d.findFieldByName("f"), -1).build()))
        .extracting(Violation::message).containsExactly("4294967295 (expected: <= 65535)");
  }

  @Test
  void uint64_comparesUnsigned() {
    Descriptor d = one(TYPE_UINT64, FieldRules.newBuilder().setUint64(UInt64Rules.newBuilder().setLte(10)).build());
    assertThat(ProtoConstraints.validate(TestSchema.builder(d).setField(d.findFieldByName("f"), -1L).build()))
        .extracting(Violation::message).containsExactly("18446744073709551615 (expected: <= 10)");
  }

  @Test
  void int32_constInNotIn() {
    Descriptor c = one(TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().setConst(3)).build());
    assertThat(rulesBroken(c, "f", 4)).containsExactly("int32.const");
    Descriptor in = one(TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().addIn(1).addIn(2)).build());
    assertThat(rulesBroken(in, "f", 3)).containsExactly("int32.in");
    assertThat(rulesBroken(in, "f", -0)).containsExactly("int32.in"); // the default value is checked too
    Descriptor notIn = one(TYPE_INT32, FieldRules.newBuilder().setInt32(Int32Rules.newBuilder().addNotIn(-1)).build());
    assertThat(rulesBroken(notIn, "f", -1)).containsExactly("int32.not_in");
  }

  @Test
  void double_nanFailsEveryBound() {
    Descriptor d = one(TYPE_DOUBLE, FieldRules.newBuilder().setDouble(DoubleRules.newBuilder().setGt(0.0)).build());
    assertThat(rulesBroken(d, "f", Double.NaN)).containsExactly("double.gt");
    assertThat(rulesBroken(d, "f", 0.5)).isEmpty();
  }

  @Test
  void ignoreEmpty_skipsTheDefaultValue() {
    Descriptor d = one(TYPE_UINT32, FieldRules.newBuilder().setUint32(UInt32Rules.newBuilder().setGte(5).setIgnoreEmpty(true)).build());
    assertThat(rulesBroken(d, "f", 0)).isEmpty();
    assertThat(rulesBroken(d, "f", 4)).containsExactly("uint32.gte");
  }

  @Test
  void bool_const() {
    Descriptor d = one(TYPE_BOOL, FieldRules.newBuilder().setBool(BoolRules.newBuilder().setConst(true)).build());
    assertThat(rulesBroken(d, "f", false)).containsExactly("bool.const");
    assertThat(rulesBroken(d, "f", true)).isEmpty();
  }

  // --- strings and bytes ---

  @Test
  void string_lengthsCountCharactersOrBytes() {
    Descriptor runes = one(TYPE_STRING, string(StringRules.newBuilder().setMaxLen(2)));
    assertThat(rulesBroken(runes, "f", "äö")).isEmpty();
    Descriptor bytes = one(TYPE_STRING, string(StringRules.newBuilder().setMaxBytes(2)));
    assertThat(rulesBroken(bytes, "f", "äö")).containsExactly("string.max_bytes");
    Descriptor len = one(TYPE_STRING, string(StringRules.newBuilder().setLen(3)));
    assertThat(rulesBroken(len, "f", "ab")).containsExactly("string.len");
  }

  @Test
  void string_affixesPatternAndSets() {
    Descriptor d = one(TYPE_STRING, string(StringRules.newBuilder()
        .setPrefix("a").setSuffix("z").setContains("m").setNotContains("x").setPattern("^[a-z]+$")));
    assertThat(rulesBroken(d, "f", "amz")).isEmpty();
    assertThat(rulesBroken(d, "f", "bXz")).containsExactly("string.pattern", "string.prefix", "string.contains");
    assertThat(rulesBroken(d, "f", "amxz")).containsExactly("string.not_contains");
    Descriptor sets = one(TYPE_STRING, string(StringRules.newBuilder().addIn("a").addIn("b")));
    assertThat(rulesBroken(sets, "f", "c")).containsExactly("string.in");
    Descriptor notIn = one(TYPE_STRING, string(StringRules.newBuilder().addNotIn("c")));
    assertThat(rulesBroken(notIn, "f", "c")).containsExactly("string.not_in");
    Descriptor c = one(TYPE_STRING, string(StringRules.newBuilder().setConst("k")));
    assertThat(rulesBroken(c, "f", "K")).containsExactly("string.const");
  }

  @Test
  void string_patternIsASearchNotAFullMatch() {
    Descriptor d = one(TYPE_STRING, string(StringRules.newBuilder().setPattern("[0-9]")));
    assertThat(rulesBroken(d, "f", "abc1")).isEmpty();
  }

  @Test
  void string_wellKnownFormats() {
    Descriptor host = one(TYPE_STRING, string(StringRules.newBuilder().setHostname(true)));
    assertThat(rulesBroken(host, "f", "backend.demo.svc.cluster.local")).isEmpty();
    assertThat(rulesBroken(host, "f", "-bad.example")).containsExactly("string.hostname");
    assertThat(rulesBroken(host, "f", "a..b")).containsExactly("string.hostname");
    Descriptor ip = one(TYPE_STRING, string(StringRules.newBuilder().setIp(true)));
    assertThat(rulesBroken(ip, "f", "::1")).isEmpty();
    assertThat(rulesBroken(ip, "f", "localhost")).containsExactly("string.ip");
    Descriptor v4 = one(TYPE_STRING, string(StringRules.newBuilder().setIpv4(true)));
    assertThat(rulesBroken(v4, "f", "::1")).containsExactly("string.ipv4");
    Descriptor v6 = one(TYPE_STRING, string(StringRules.newBuilder().setIpv6(true)));
    assertThat(rulesBroken(v6, "f", "127.0.0.1")).containsExactly("string.ipv6");
    Descriptor address = one(TYPE_STRING, string(StringRules.newBuilder().setAddress(true)));
    assertThat(rulesBroken(address, "f", "127.0.0.1")).isEmpty();
    assertThat(rulesBroken(address, "f", "a b")).containsExactly("string.address");
    Descriptor uri = one(TYPE_STRING, string(StringRules.newBuilder().setUri(true)));
    assertThat(rulesBroken(uri, "f", "spiffe://example.org/a")).isEmpty();
    assertThat(rulesBroken(uri, "f", "/relative")).containsExactly("string.uri");
    Descriptor uriRef = one(TYPE_STRING, string(StringRules.newBuilder().setUriRef(true)));
    assertThat(rulesBroken(uriRef, "f", "/relative")).isEmpty();
    Descriptor email = one(TYPE_STRING, string(StringRules.newBuilder().setEmail(true)));
    assertThat(rulesBroken(email, "f", "ops@example.org")).isEmpty();
    assertThat(rulesBroken(email, "f", "ops.example.org")).containsExactly("string.email");
    Descriptor uuid = one(TYPE_STRING, string(StringRules.newBuilder().setUuid(true)));
    assertThat(rulesBroken(uuid, "f", "123e4567-e89b-12d3-a456-426614174000")).isEmpty();
    assertThat(rulesBroken(uuid, "f", "123e4567")).containsExactly("string.uuid");
  }

  @Test
  void string_headerRegexes_strictByDefault() {
    Descriptor name = one(TYPE_STRING, string(StringRules.newBuilder().setWellKnownRegex(KnownRegex.HTTP_HEADER_NAME)));
    assertThat(rulesBroken(name, "f", ":method")).isEmpty();
    assertThat(rulesBroken(name, "f", "x-a b")).containsExactly("string.well_known_regex");
    assertThat(rulesBroken(name, "f", "")).containsExactly("string.well_known_regex");
    Descriptor loose = one(TYPE_STRING, string(StringRules.newBuilder()
        .setWellKnownRegex(KnownRegex.HTTP_HEADER_NAME).setStrict(false)));
    assertThat(rulesBroken(loose, "f", "x-a b")).isEmpty();
    assertThat(rulesBroken(loose, "f", "x\r\n")).containsExactly("string.well_known_regex");
    Descriptor value = one(TYPE_STRING, string(StringRules.newBuilder().setWellKnownRegex(KnownRegex.HTTP_HEADER_VALUE)));
    assertThat(rulesBroken(value, "f", "a\tb c")).isEmpty();
    assertThat(rulesBroken(value, "f", "a\u0001")).containsExactly("string.well_known_regex");
  }

  @Test
  void bytes_lengthAffixesAndIp() {
    Descriptor d = one(TYPE_BYTES, FieldRules.newBuilder().setBytes(BytesRules.newBuilder()
        .setMinLen(2).setMaxLen(4).setPrefix(ByteString.copyFromUtf8("a"))).build());
    assertThat(rulesBroken(d, "f", ByteString.copyFromUtf8("ab"))).isEmpty();
    assertThat(rulesBroken(d, "f", ByteString.copyFromUtf8("b"))).containsExactly("bytes.min_len", "bytes.prefix");
    assertThat(rulesBroken(d, "f", ByteString.copyFromUtf8("abcde"))).containsExactly("bytes.max_len");
    Descriptor ip = one(TYPE_BYTES, FieldRules.newBuilder().setBytes(BytesRules.newBuilder().setIpv4(true)).build());
    assertThat(rulesBroken(ip, "f", ByteString.copyFrom(new byte[] {127, 0, 0, 1}))).isEmpty();
    assertThat(rulesBroken(ip, "f", ByteString.copyFrom(new byte[5]))).containsExactly("bytes.ipv4");
  }

  // --- enums, repeated, maps ---

  @Test
  void enum_definedOnlyInNotIn() {
    Descriptor d = TestSchema.message().enumField("f", FieldRules.newBuilder()
        .setEnum(EnumRules.newBuilder().setDefinedOnly(true).addNotIn(0)).build()).build();
    var f = d.findFieldByName("f");
    assertThat(rulesBroken(TestSchema.builder(d).setField(f, f.getEnumType().findValueByNumberCreatingIfUnknown(7)).build()))
        .containsExactly("enum.defined_only");
    assertThat(rulesBroken(TestSchema.builder(d).build())).containsExactly("enum.not_in");
    assertThat(rulesBroken(TestSchema.builder(d).setField(f, f.getEnumType().findValueByNumber(1)).build())).isEmpty();
  }

  @Test
  void repeated_countsUniquenessAndItemRules() {
    Descriptor d = TestSchema.message().repeated("f", TYPE_STRING, FieldRules.newBuilder().setRepeated(RepeatedRules.newBuilder()
        .setMinItems(1).setMaxItems(3).setUnique(true)
        .setItems(string(StringRules.newBuilder().setMinLen(1)))).build()).build();
    var f = d.findFieldByName("f");
    assertThat(rulesBroken(TestSchema.builder(d).build())).containsExactly("repeated.min_items");
    Message m = TestSchema.builder(d).addRepeatedField(f, "a").addRepeatedField(f, "").addRepeatedField(f, "a")
        .addRepeatedField(f, "b").build();
    assertThat(ProtoConstraints.validate(m)).extracting(Violation::fieldPath, Violation::rule).containsExactly(
        org.assertj.core.groups.Tuple.tuple("f", "repeated.max_items"),
        org.assertj.core.groups.Tuple.tuple("f[2]", "repeated.unique"),
        org.assertj.core.groups.Tuple.tuple("f[1]", "string.min_len"));
  }

  @Test
  void repeated_ignoreEmpty() {
    Descriptor d = TestSchema.message().repeated("f", TYPE_STRING, FieldRules.newBuilder()
        .setRepeated(RepeatedRules.newBuilder().setMinItems(2).setIgnoreEmpty(true)).build()).build();
    assertThat(rulesBroken(TestSchema.builder(d).build())).isEmpty();
    assertThat(rulesBroken(TestSchema.builder(d).addRepeatedField(d.findFieldByName("f"), "a").build()))
        .containsExactly("repeated.min_items");
  }

  @Test
  void map_pairsKeysAndValues() {
    Descriptor d = TestSchema.message().stringMap("labels", FieldRules.newBuilder().setMap(MapRules.newBuilder()
        .setMaxPairs(1)
        .setKeys(string(StringRules.newBuilder().setMinLen(1)))
        .setValues(string(StringRules.newBuilder().setMaxLen(1)))).build()).build();
    var f = d.findFieldByName("labels");
    var entryType = f.getMessageType();
    Message e1 = TestSchema.builder(entryType).setField(entryType.findFieldByName("key"), "")
        .setField(entryType.findFieldByName("value"), "xy").build();
    Message e2 = TestSchema.builder(entryType).setField(entryType.findFieldByName("key"), "k")
        .setField(entryType.findFieldByName("value"), "v").build();
    Message m = TestSchema.builder(d).addRepeatedField(f, e1).addRepeatedField(f, e2).build();
    assertThat(ProtoConstraints.validate(m)).extracting(Violation::fieldPath, Violation::rule).containsExactly(
        org.assertj.core.groups.Tuple.tuple("labels", "map.max_pairs"),
        org.assertj.core.groups.Tuple.tuple("labels[\"\"].key", "string.min_len"),
        org.assertj.core.groups.Tuple.tuple("labels[\"\"]", "string.max_len"));
  }

  // --- well-known message types ---

  @Test
  void duration_requiredAndBounds() {
    Descriptor d = TestSchema.message().messageField("d", ".google.protobuf.Duration", FieldRules.newBuilder()
        .setDuration(DurationRules.newBuilder().setRequired(true).setLte(Duration.newBuilder().setSeconds(1))
            .addNotIn(Duration.newBuilder().setNanos(5))).build()).build();
    var f = d.findFieldByName("d");
    assertThat(rulesBroken(TestSchema.builder(d).build())).containsExactly("duration.required");
    assertThat(rulesBroken(TestSchema.builder(d).setField(f, Duration.newBuilder().setSeconds(1).setNanos(1).build()).build()))
        .containsExactly("duration.lte");
    assertThat(rulesBroken(TestSchema.builder(d).setField(f, Duration.newBuilder().setNanos(5).build()).build()))
        .containsExactly("duration.not_in");
    assertThat(rulesBroken(TestSchema.builder(d).setField(f, Duration.newBuilder().setSeconds(1).build()).build())).isEmpty();
  }

  @Test
  void timestamp_boundsChecked_clockRulesReportedUnsupported() {
    Descriptor d = TestSchema.message().messageField("t", ".google.protobuf.Timestamp", FieldRules.newBuilder()
        .setTimestamp(TimestampRules.newBuilder().setGt(Timestamp.newBuilder().setSeconds(100))).build()).build();
    var f = d.findFieldByName("t");
    assertThat(rulesBroken(TestSchema.builder(d).setField(f, Timestamp.newBuilder().setSeconds(100).build()).build()))
        .containsExactly("timestamp.gt");
    Descriptor now = TestSchema.message().messageField("t", ".google.protobuf.Timestamp", FieldRules.newBuilder()
        .setTimestamp(TimestampRules.newBuilder().setLtNow(true)).build()).build();
    List<Violation> v = ProtoConstraints.validate(
        TestSchema.builder(now).setField(now.findFieldByName("t"), Timestamp.getDefaultInstance()).build());
    assertThat(v).extracting(Violation::rule).containsExactly(Violation.UNSUPPORTED_RULE);
    assertThat(v.get(0).message()).startsWith("timestamp.lt_now");
  }

  @Test
  void any_inChecksTheTypeUrl() {
    Descriptor d = TestSchema.message().messageField("a", ".google.protobuf.Any", FieldRules.newBuilder()
        .setAny(AnyRules.newBuilder().addIn("type.googleapis.com/google.protobuf.Duration")).build()).build();
    var f = d.findFieldByName("a");
    assertThat(rulesBroken(TestSchema.builder(d).setField(f, Any.pack(Duration.getDefaultInstance())).build())).isEmpty();
    assertThat(rulesBroken(TestSchema.builder(d).setField(f, Any.pack(Timestamp.getDefaultInstance())).build()))
        .containsExactly("any.in");
  }

  @Test
  void wrapper_carriesTheScalarRules() {
    Descriptor d = TestSchema.message().messageField("w", ".google.protobuf.StringValue",
        string(StringRules.newBuilder().setMinLen(2))).build();
    var f = d.findFieldByName("w");
    assertThat(rulesBroken(TestSchema.builder(d).build())).isEmpty();
    assertThat(rulesBroken(TestSchema.builder(d).setField(f, StringValue.of("a")).build())).containsExactly("string.min_len");
  }

  // --- presence, message options, robustness ---

  @Test
  void messageRequired_unset_rejected() {
    FieldRules required = FieldRules.newBuilder().setMessage(MessageRules.newBuilder().setRequired(true)).build();
    Descriptor d = TestSchema.message().messageField("child", ".google.protobuf.Duration", required).build();
    assertThat(ProtoConstraints.validate(TestSchema.builder(d).build()))
        .containsExactly(new Violation("child", "message.required", "is not set (expected: set)"));
  }

  @Test
  void nestedMessage_isValidated_unlessSkipped() {
    // A message type T with a string `name` and a `child` of type T itself.
    Descriptor validated = TestSchema.message()
        .field("name", TYPE_STRING, string(StringRules.newBuilder().setMinLen(1)))
        .messageField("child", ".t.T", FieldRules.getDefaultInstance())
        .build();
    Message broken = TestSchema.builder(validated).setField(validated.findFieldByName("name"), "x")
        .setField(validated.findFieldByName("child"), TestSchema.builder(validated).build()).build();
    assertThat(ProtoConstraints.validate(broken)).extracting(Violation::fieldPath).containsExactly("child.name");

    Descriptor skipping = TestSchema.message()
        .field("name", TYPE_STRING, string(StringRules.newBuilder().setMinLen(1)))
        .messageField("child", ".t.T", FieldRules.newBuilder().setMessage(MessageRules.newBuilder().setSkip(true)).build())
        .build();
    Message skipped = TestSchema.builder(skipping).setField(skipping.findFieldByName("name"), "x")
        .setField(skipping.findFieldByName("child"), TestSchema.builder(skipping).build()).build();
    assertThat(ProtoConstraints.validate(skipped)).isEmpty();
  }

  @Test
  void disabledMessage_isNotValidated() {
    Descriptor d = TestSchema.message().field("name", TYPE_STRING, string(StringRules.newBuilder().setMinLen(1))).disabled().build();
    assertThat(ProtoConstraints.validate(TestSchema.builder(d).build())).isEmpty();
  }

  @Test
  void optionalScalar_checkedOnlyWhenSet() {
    Descriptor d = TestSchema.message().optional("n", TYPE_UINT32,
        FieldRules.newBuilder().setUint32(UInt32Rules.newBuilder().setGt(0)).build()).build();
    assertThat(rulesBroken(TestSchema.builder(d).build())).isEmpty();
    assertThat(rulesBroken(d, "n", 0)).containsExactly("uint32.gt");
  }

  @Test
  void oneofMember_checkedOnlyWhenChosen() {
    Descriptor d = TestSchema.message()
        .inOneof("choice", "a", TYPE_STRING, string(StringRules.newBuilder().setMinLen(1)))
        .inOneof("choice", "b", TYPE_UINT32, FieldRules.newBuilder().setUint32(UInt32Rules.newBuilder().setGt(0)).build())
        .build();
    assertThat(rulesBroken(d, "b", 1)).isEmpty();
    assertThat(rulesBroken(d, "a", "")).containsExactly("string.min_len");
  }

  @Test
  void ruleOfTheWrongKind_reportedUnsupported() {
    Descriptor d = one(TYPE_INT32, string(StringRules.newBuilder().setMinLen(1)));
    List<Violation> v = ProtoConstraints.validate(TestSchema.builder(d).build());
    assertThat(v).extracting(Violation::rule).containsExactly(Violation.UNSUPPORTED_RULE);
    assertThat(v.get(0).message()).isEqualTo("string: rules on a field of type int32");
  }

  @Test
  void optionsNotParsedAsExtensions_areStillApplied() {
    Descriptor d = TestSchema.message().fieldWithUnparsedOptions("f", TYPE_STRING, string(StringRules.newBuilder().setMinLen(1))).build();
    assertThat(d.findFieldByName("f").getOptions().getUnknownFields().asMap()).isNotEmpty();
    assertThat(rulesBroken(TestSchema.builder(d).build())).containsExactly("string.min_len");
  }
}
