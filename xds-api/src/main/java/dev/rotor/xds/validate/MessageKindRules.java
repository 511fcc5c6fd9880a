package dev.rotor.xds.validate;

import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import io.envoyproxy.pgv.validate.Validate.AnyRules;
import io.envoyproxy.pgv.validate.Validate.DurationRules;
import io.envoyproxy.pgv.validate.Validate.TimestampRules;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * Rules on well-known message types that are set: duration, timestamp and any. (Their {@code
 * required} flags are checked by the walker, which sees unset fields.) The values may be generated
 * messages or {@link com.google.protobuf.DynamicMessage}s unpacked from an Any, so they are read
 * through their descriptors.
 */
final class MessageKindRules {
  private MessageKindRules() {}

  private static final Set<String> DURATION_RULES = Set.of("required", "const", "lt", "lte", "gt", "gte", "in", "not_in");
  // lt_now, gt_now and within depend on the clock: not implemented, so reported as unsupported.
  private static final Set<String> TIMESTAMP_RULES = Set.of("required", "const", "lt", "lte", "gt", "gte");
  private static final Set<String> ANY_RULES = Set.of("required", "in", "not_in");

  private static final Comparator<long[]> SECONDS_NANOS =
      Comparator.<long[]>comparingLong(a -> a[0]).thenComparingLong(a -> a[1]);

  static void checkDuration(DurationRules r, Message value, String path, Violations out) {
    out.requireKnownRules(path, "duration", r, DURATION_RULES);
    long[] v = secondsNanos(value);
    String shown = formatDuration(v);
    if (r.hasConst() && cmp(v, r.getConst()) != 0) {
      out.add(path, "duration.const", shown + " (expected: " + formatDuration(r.getConst()) + ")");
    }
    if (r.hasLt() && !(cmp(v, r.getLt()) < 0)) {
      out.add(path, "duration.lt", shown + " (expected: < " + formatDuration(r.getLt()) + ")");
    }
    if (r.hasLte() && !(cmp(v, r.getLte()) <= 0)) {
      out.add(path, "duration.lte", shown + " (expected: <= " + formatDuration(r.getLte()) + ")");
    }
    if (r.hasGt() && !(cmp(v, r.getGt()) > 0)) {
      out.add(path, "duration.gt", shown + " (expected: > " + formatDuration(r.getGt()) + ")");
    }
    if (r.hasGte() && !(cmp(v, r.getGte()) >= 0)) {
      out.add(path, "duration.gte", shown + " (expected: >= " + formatDuration(r.getGte()) + ")");
    }
    if (r.getInCount() > 0 && r.getInList().stream().noneMatch(d -> cmp(v, d) == 0)) {
      out.add(path, "duration.in", shown + " (expected: one of " + formatAll(r.getInList()) + ")");
    }
    if (r.getNotInList().stream().anyMatch(d -> cmp(v, d) == 0)) {
      out.add(path, "duration.not_in", shown + " (expected: none of " + formatAll(r.getNotInList()) + ")");
    }
  }

  static void checkTimestamp(TimestampRules r, Message value, String path, Violations out) {
    out.requireKnownRules(path, "timestamp", r, TIMESTAMP_RULES);
    long[] v = secondsNanos(value);
    String shown = v[0] + "s+" + v[1] + "ns";
    if (r.hasConst() && cmp(v, r.getConst()) != 0) {
      out.add(path, "timestamp.const", shown + " (expected: " + format(r.getConst()) + ")");
    }
    if (r.hasLt() && !(cmp(v, r.getLt()) < 0)) {
      out.add(path, "timestamp.lt", shown + " (expected: < " + format(r.getLt()) + ")");
    }
    if (r.hasLte() && !(cmp(v, r.getLte()) <= 0)) {
      out.add(path, "timestamp.lte", shown + " (expected: <= " + format(r.getLte()) + ")");
    }
    if (r.hasGt() && !(cmp(v, r.getGt()) > 0)) {
      out.add(path, "timestamp.gt", shown + " (expected: > " + format(r.getGt()) + ")");
    }
    if (r.hasGte() && !(cmp(v, r.getGte()) >= 0)) {
      out.add(path, "timestamp.gte", shown + " (expected: >= " + format(r.getGte()) + ")");
    }
  }

  static void checkAny(AnyRules r, Message any, String path, Violations out) {
    out.requireKnownRules(path, "any", r, ANY_RULES);
    String typeUrl = (String) any.getField(any.getDescriptorForType().findFieldByName("type_url"));
    if (r.getInCount() > 0 && !r.getInList().contains(typeUrl)) {
      out.add(path, "any.in", Violations.quote(typeUrl) + " (expected: one of " + r.getInList() + ")");
    }
    if (r.getNotInList().contains(typeUrl)) {
      out.add(path, "any.not_in", Violations.quote(typeUrl) + " (expected: none of " + r.getNotInList() + ")");
    }
  }

  private static long[] secondsNanos(Message m) {
    var d = m.getDescriptorForType();
    return new long[] {
      ((Number) m.getField(d.findFieldByName("seconds"))).longValue(),
      ((Number) m.getField(d.findFieldByName("nanos"))).longValue()
    };
  }

  private static int cmp(long[] v, Duration d) {
    return SECONDS_NANOS.compare(v, new long[] {d.getSeconds(), d.getNanos()});
  }

  private static int cmp(long[] v, Timestamp t) {
    return SECONDS_NANOS.compare(v, new long[] {t.getSeconds(), t.getNanos()});
  }

  private static String formatDuration(long[] v) {
    return v[1] == 0 ? v[0] + "s" : v[0] + "s+" + v[1] + "ns";
  }

  private static String formatDuration(Duration d) {
    return formatDuration(new long[] {d.getSeconds(), d.getNanos()});
  }

  private static String formatAll(List<Duration> ds) {
    return ds.stream().map(MessageKindRules::formatDuration).toList().toString();
  }

  private static String format(Timestamp t) {
    return t.getSeconds() + "s+" + t.getNanos() + "ns";
  }
}
