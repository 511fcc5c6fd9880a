package dev.rotor.xds.validate;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.List;
import java.util.Set;

/**
 * The numeric rule kinds (float, double, [s|u]int32/64, [s]fixed32/64). They all share the
 * same fields (const, lt, lte, gt, gte, in, not_in, ignore_empty), so one implementation reads
 * them by name from whichever rules message applies; only the comparison differs (unsigned for
 * uint and fixed, floating point for float and double).
 */
final class NumberRules {
  private NumberRules() {}

  private static final Set<String> KNOWN = Set.of("const", "lt", "lte", "gt", "gte", "in", "not_in", "ignore_empty");

  /**
   * @param kind the rule kind as named in validate.proto ({@code uint32}, {@code double}, ...)
   * @param rules the rules message of that kind
   * @param value the field's value as protobuf-java returns it (Integer, Long, Float or Double)
   */
  static void check(String kind, Message rules, Object value, String path, Violations out) {
    out.requireKnownRules(path, kind, rules, KNOWN);
    Num num = new Num(kind);
    if (isSet(rules, "ignore_empty") && Boolean.TRUE.equals(get(rules, "ignore_empty")) && num.isZero(value)) {
      return;
    }
    if (isSet(rules, "const") && num.compare(value, get(rules, "const")) != 0) {
      out.add(path, kind + ".const", num.format(value) + " (expected: " + num.format(get(rules, "const")) + ")");
    }
    String lowerName = isSet(rules, "gt") ? "gt" : isSet(rules, "gte") ? "gte" : null;
    String upperName = isSet(rules, "lt") ? "lt" : isSet(rules, "lte") ? "lte" : null;
    boolean lowerOk = lowerName == null || holds(num, value, lowerName, get(rules, lowerName));
    boolean upperOk = upperName == null || holds(num, value, upperName, get(rules, upperName));
    if (lowerName != null && upperName != null
        && num.compare(get(rules, upperName), get(rules, lowerName)) <= 0) {
      // protoc-gen-validate: an upper bound at or below the lower bound means "outside the range".
      if (!lowerOk && !upperOk) {
        out.add(path, kind + ".range", num.format(value) + " (expected: " + bound(num, rules, upperName)
            + " or " + bound(num, rules, lowerName) + ")");
      }
    } else {
      if (!lowerOk) {
        out.add(path, kind + "." + lowerName, num.format(value) + " (expected: " + bound(num, rules, lowerName) + ")");
      }
      if (!upperOk) {
        out.add(path, kind + "." + upperName, num.format(value) + " (expected: " + bound(num, rules, upperName) + ")");
      }
    }
    List<?> in = (List<?>) get(rules, "in");
    if (!in.isEmpty() && in.stream().noneMatch(x -> num.compare(value, x) == 0)) {
      out.add(path, kind + ".in", num.format(value) + " (expected: one of " + num.formatAll(in) + ")");
    }
    List<?> notIn = (List<?>) get(rules, "not_in");
    if (notIn.stream().anyMatch(x -> num.compare(value, x) == 0)) {
      out.add(path, kind + ".not_in", num.format(value) + " (expected: none of " + num.formatAll(notIn) + ")");
    }
  }

  private static boolean holds(Num num, Object value, String op, Object bound) {
    int c = num.compare(value, bound);
    if (c == Num.UNORDERED) {
      return false;
    }
    return switch (op) {
      case "gt" -> c > 0;
      case "gte" -> c >= 0;
      case "lt" -> c < 0;
      case "lte" -> c <= 0;
      default -> throw new IllegalArgumentException(op);
    };
  }

  private static String bound(Num num, Message rules, String op) {
    String sign = switch (op) {
      case "gt" -> "> ";
      case "gte" -> ">= ";
      case "lt" -> "< ";
      default -> "<= ";
    };
    return sign + num.format(get(rules, op));
  }

  private static boolean isSet(Message rules, String name) {
    return rules.hasField(rules.getDescriptorForType().findFieldByName(name));
  }

  private static Object get(Message rules, String name) {
    FieldDescriptor f = rules.getDescriptorForType().findFieldByName(name);
    return rules.getField(f);
  }

  /** Comparison and formatting for one numeric kind. */
  private static final class Num {
    static final int UNORDERED = Integer.MIN_VALUE;
    private final boolean floating;
    private final boolean unsigned32;
    private final boolean unsigned64;

    Num(String kind) {
      this.floating = kind.equals("float") || kind.equals("double");
      this.unsigned32 = kind.equals("uint32") || kind.equals("fixed32");
      this.unsigned64 = kind.equals("uint64") || kind.equals("fixed64");
    }

    /** Negative, zero or positive; {@link #UNORDERED} when a NaN is involved. */
    int compare(Object a, Object b) {
      if (floating) {
        double x = ((Number) a).doubleValue();
        double y = ((Number) b).doubleValue();
        if (Double.isNaN(x) || Double.isNaN(y)) {
          return UNORDERED;
        }
        return x < y ? -1 : x > y ? 1 : 0;
      }
      long x = asLong(a);
      long y = asLong(b);
      return unsigned64 ? Long.compareUnsigned(x, y) : Long.compare(x, y);
    }

    boolean isZero(Object v) {
      return floating ? ((Number) v).doubleValue() == 0 : asLong(v) == 0;
    }

    String format(Object v) {
      if (floating) {
        return v.toString();
      }
      return unsigned64 ? Long.toUnsignedString(asLong(v)) : Long.toString(asLong(v));
    }

    String formatAll(List<?> values) {
      return values.stream().map(this::format).toList().toString();
    }

    private long asLong(Object v) {
      if (unsigned32 && v instanceof Integer i) {
        return Integer.toUnsignedLong(i);
      }
      return ((Number) v).longValue();
    }
  }
}
