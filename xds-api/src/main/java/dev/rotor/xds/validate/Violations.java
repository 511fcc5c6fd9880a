package dev.rotor.xds.validate;

import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** Collects the violations of one validation run, in the order the walk finds them. */
final class Violations {
  private final List<Violation> found = new ArrayList<>();

  void add(String path, String rule, String message) {
    found.add(new Violation(path, rule, message));
  }

  /** A rule this validator cannot check: reported so it can never pass silently. */
  void unsupported(String path, String rule, String why) {
    found.add(new Violation(path, Violation.UNSUPPORTED_RULE, rule + ": " + why));
  }

  /**
   * Reports every field set in a rules message whose name is not in {@code known}, and any field
   * unknown to this version of validate.proto, as unsupported.
   */
  void requireKnownRules(String path, String kind, Message rules, Set<String> known) {
    Set<String> unknown = new TreeSet<>();
    rules.getAllFields().keySet().forEach(f -> {
      if (!known.contains(f.getName())) {
        unknown.add(f.getName());
      }
    });
    for (String name : unknown) {
      unsupported(path, kind + "." + name, "not implemented by Rotor's validator");
    }
    if (!rules.getUnknownFields().asMap().isEmpty()) {
      unsupported(path, kind, "fields " + rules.getUnknownFields().asMap().keySet()
          + " unknown to this validate.proto (a newer protoc-gen-validate?)");
    }
  }

  List<Violation> toList() {
    return List.copyOf(found);
  }

  /** A value for a message: quoted and escaped, so a newline shows as {@code \n}. */
  static String quote(String value) {
    StringBuilder b = new StringBuilder(value.length() + 2).append('"');
    value.codePoints().forEach(c -> {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (Character.isISOControl(c)) {
            b.append(String.format("\\u%04x", c));
          } else {
            b.appendCodePoint(c);
          }
        }
      }
    });
    return b.append('"').toString();
  }
}
