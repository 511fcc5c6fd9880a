package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import dev.rotor.files.HclReader.Bool;
import dev.rotor.files.HclReader.ListValue;
import dev.rotor.files.HclReader.Num;
import dev.rotor.files.HclReader.Str;
import dev.rotor.files.HclReader.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One helper.conf key's value and where it came from (a file and line, or a flag), with the typed
 * readings the keys need. Every reading that fails throws a {@link HelperConfigException} whose
 * message starts with {@link #label()}.
 *
 * @param key the key, {@code health_checks.bind_port} for nested ones
 * @param where {@code helper.conf:12}, or the flag ({@code --cert-file-mode})
 */
record Setting(String key, Value value, String where, boolean fromFlag) {

  private static final Pattern OCTAL_MODE = Pattern.compile("0[oO]?([0-7]{1,4})");

  Setting {
    requireNonNull(key, "key");
    requireNonNull(value, "value");
    requireNonNull(where, "where");
  }

  /** {@code helper.conf:12: cert_file_mode}, or {@code --cert-file-mode}. */
  String label() {
    return fromFlag ? where : where + ": " + key;
  }

  HelperConfigException error(String problem) {
    return new HelperConfigException(label() + ": " + problem);
  }

  /** A string; a number as written (HCL 1 decodes a number into a string field that way). */
  String string() {
    if (value instanceof Str str) {
      return str.value();
    }
    if (value instanceof Num n) {
      return n.literal();
    }
    throw error(value.kind() + " (expected a string in double quotes)");
  }

  boolean bool() {
    if (value instanceof Bool b) {
      return b.value();
    }
    if (value instanceof Str str && (str.value().equals("true") || str.value().equals("false"))) {
      return str.value().equals("true");
    }
    throw error(describe(value) + " (expected true or false)");
  }

  int integer() {
    String literal;
    if (value instanceof Num n) {
      literal = n.literal();
    } else if (value instanceof Str str) {
      literal = str.value().trim();
    } else {
      throw error(value.kind() + " (expected a whole number)");
    }
    try {
      return Integer.parseInt(literal);
    } catch (NumberFormatException e) {
      throw error("\"" + literal + "\" is not a whole number");
    }
  }

  List<String> strings() {
    if (!(value instanceof ListValue l)) {
      throw error(value.kind() + " (expected a list of strings: [\"a\", \"b\"])");
    }
    List<String> out = new ArrayList<>();
    for (Value v : l.items()) {
      if (!(v instanceof Str str)) {
        throw error("a list holding " + v.kind() + " (expected a list of strings: [\"a\", \"b\"])");
      }
      out.add(str.value());
    }
    return out;
  }

  /**
   * A file mode: {@code 0640}, {@code "0640"} or {@code 0o640}; {@code 0} means {@code dflt}, as in
   * spiffe-helper. {@code 640} without the leading 0 is refused: spiffe-helper reads it as decimal.
   */
  int octalMode(int dflt) {
    String literal;
    if (value instanceof Num n) {
      literal = n.literal();
    } else if (value instanceof Str str) {
      literal = str.value().trim();
    } else {
      throw error(value.kind() + " (expected an octal file mode, e.g. " + FileSpec.octal(dflt) + ")");
    }
    if (literal.equals("0") || literal.isEmpty()) {
      return dflt;
    }
    Matcher m = OCTAL_MODE.matcher(literal);
    if (m.matches()) {
      int mode = Integer.parseInt(m.group(1), 8);
      if (mode > 0777) {
        throw error(literal + " has bits beyond 0777 (expected permission bits only, e.g. " + FileSpec.octal(dflt)
            + ")");
      }
      return mode;
    }
    if (literal.matches("[0-7]{3}")) {
      throw error(literal + " is not an octal file mode: write it with a leading 0 (0" + literal
          + "); without it spiffe-helper reads the number as decimal");
    }
    throw error("\"" + literal + "\" is not an octal file mode (expected e.g. " + FileSpec.octal(dflt) + ")");
  }

  /** {@code name} if it is a plain name inside cert_dir: the symlink layout needs every output directly in it. */
  static String fileName(Setting s, String name) {
    if (name.contains("/") || name.equals(".") || name.equals("..") || name.indexOf('\0') >= 0) {
      throw s.error("\"" + name + "\" is not a file name (expected a name inside cert_dir, without '/'; set cert_dir"
          + " to the directory)");
    }
    if (name.startsWith("..")) {
      throw s.error("\"" + name + "\": names starting with \"..\" are reserved for Rotor's versioned directories"
          + " (choose another name)");
    }
    return name;
  }

  private static String describe(Value v) {
    if (v instanceof Str s) {
      return "\"" + s.value() + "\"";
    }
    if (v instanceof Num n) {
      return n.literal();
    }
    if (v instanceof Bool b) {
      return String.valueOf(b.value());
    }
    return v.kind();
  }
}
