package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict reader for the part of HCL (version 1, the dialect spiffe-helper's {@code helper.conf}
 * is written in) that configuration files use: {@code key = value} attributes, blocks {@code key {
 * ... }}, quoted strings, numbers, booleans, lists and objects, and {@code #}, {@code //} and
 * {@code /* *}{@code /} comments.
 *
 * <p>Why not hcl4j: it accepts an unclosed block by moving the block's keys to the top level,
 * accepts unbalanced brackets, and returns {@code 0644} as the number 644.0, so a file mode's octal
 * meaning is lost. Each of those would turn a typo into a silently different configuration. This
 * reader keeps every number's literal text and reports the line and column of the first error.
 *
 * <p>Not supported (reported as a syntax error): heredoc strings, labelled blocks ({@code key
 * "label" { }}), and expressions.
 */
final class HclReader {

  /** A parsed value with the line it starts on (1-based). */
  sealed interface Value permits Str, Num, Bool, ListValue, ObjectValue {
    int line();

    /** What kind of value this is, for messages: "a string", "a number", ... */
    String kind();
  }

  record Str(String value, int line) implements Value {
    @Override
    public String kind() {
      return "a string";
    }
  }

  /** A number, kept as written ({@code 0644}, {@code 8081}, {@code -1}, {@code 1.5}). */
  record Num(String literal, int line) implements Value {
    @Override
    public String kind() {
      return "a number";
    }
  }

  record Bool(boolean value, int line) implements Value {
    @Override
    public String kind() {
      return "a boolean";
    }
  }

  record ListValue(List<Value> items, int line) implements Value {
    ListValue {
      items = List.copyOf(items);
    }

    @Override
    public String kind() {
      return "a list";
    }
  }

  /**
   * An object or block body. Keys keep their order; a key given twice is kept as a list of its
   * values (only blocks may repeat, and only where the schema allows a list).
   */
  record ObjectValue(Map<String, List<Value>> entries, int line) implements Value {
    ObjectValue {
      Map<String, List<Value>> copy = new LinkedHashMap<>();
      entries.forEach((k, v) -> copy.put(k, List.copyOf(v)));
      entries = java.util.Collections.unmodifiableMap(copy);
    }

    @Override
    public String kind() {
      return "an object";
    }
  }

  /** A syntax error at a line and column (both 1-based). */
  static final class SyntaxException extends Exception {
    private static final long serialVersionUID = 1L;
    private final int line;
    private final int column;

    SyntaxException(int line, int column, String message) {
      super(message);
      this.line = line;
      this.column = column;
    }

    int line() {
      return line;
    }

    int column() {
      return column;
    }
  }

  private final String src;
  private int pos;
  private int line = 1;
  private int lineStart;

  private HclReader(String src) {
    this.src = requireNonNull(src, "src");
  }

  /** Reads a whole file body: a sequence of attributes and blocks. */
  static ObjectValue read(String text) throws SyntaxException {
    HclReader r = new HclReader(text.startsWith("\uFEFF") ? text.substring(1) : text);
    ObjectValue body = r.body(1, false);
    return body;
  }

  /** Attributes and blocks until end of input ({@code nested} false) or a closing brace. */
  private ObjectValue body(int startLine, boolean nested) throws SyntaxException {
    Map<String, List<Value>> entries = new LinkedHashMap<>();
    while (true) {
      skipSpaceAndComments(true);
      if (atEnd()) {
        if (nested) {
          throw error("unexpected end of file: a '{' opened on line " + startLine + " is never closed");
        }
        return new ObjectValue(entries, startLine);
      }
      char c = peek();
      if (c == '}') {
        if (!nested) {
          throw error("unexpected '}' (no block is open)");
        }
        pos++;
        return new ObjectValue(entries, startLine);
      }
      if (c == ',' && nested) {
        pos++; // HCL 1 allows commas between the fields of an object
        continue;
      }
      int keyLine = line;
      String key = key();
      skipSpaceAndComments(false);
      Value v;
      if (!atEnd() && peek() == '=') {
        pos++;
        skipSpaceAndComments(false);
        v = value();
      } else if (!atEnd() && peek() == '{') {
        pos++;
        v = body(keyLine, true);
      } else if (!atEnd() && peek() == '"') {
        throw error("labelled blocks (" + key + " \"label\" { ... }) are not supported here");
      } else {
        throw error("expected '=' or '{' after \"" + key + "\"");
      }
      entries.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
      endOfEntry(nested);
    }
  }

  /** After an entry: a newline, a comment, a comma (in objects), a closing brace or the end. */
  private void endOfEntry(boolean nested) throws SyntaxException {
    skipSpaceAndComments(false);
    if (atEnd()) {
      return;
    }
    char c = peek();
    if (c == '\n' || c == '\r' || c == '}' || (nested && c == ',')) {
      return;
    }
    throw error("expected a new line after the value, found '" + printable(c) + "'");
  }

  private String key() throws SyntaxException {
    if (peek() == '"') {
      return string().value();
    }
    int start = pos;
    while (!atEnd() && isIdentChar(peek())) {
      pos++;
    }
    if (start == pos) {
      throw error("expected a key, found '" + printable(peek()) + "'");
    }
    return src.substring(start, pos);
  }

  private Value value() throws SyntaxException {
    if (atEnd()) {
      throw error("expected a value, found the end of the file");
    }
    char c = peek();
    int valueLine = line;
    if (c == '"') {
      return string();
    }
    if (c == '[') {
      pos++;
      return list(valueLine);
    }
    if (c == '{') {
      pos++;
      return body(valueLine, true);
    }
    if (c == '<' && src.startsWith("<<", pos)) {
      throw error("heredoc strings are not supported (write the value as a quoted string)");
    }
    if (c == '-' || c == '+' || c == '.' || Character.isDigit(c)) {
      int start = pos;
      pos++;
      while (!atEnd() && (Character.isLetterOrDigit(peek()) || peek() == '.' || peek() == '_')) {
        pos++;
      }
      String literal = src.substring(start, pos);
      if (!literal.matches("[-+]?(0[xXoO][0-9a-fA-F_]+|[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?)")) {
        pos = start;
        throw error("\"" + literal + "\" is not a number");
      }
      return new Num(literal, valueLine);
    }
    if (isIdentChar(c)) {
      int start = pos;
      while (!atEnd() && isIdentChar(peek())) {
        pos++;
      }
      String word = src.substring(start, pos);
      if (word.equals("true") || word.equals("false")) {
        return new Bool(word.equals("true"), valueLine);
      }
      pos = start;
      throw error("expected a value, found " + word + " (put strings in double quotes: \"" + word + "\")");
    }
    throw error("expected a value, found '" + printable(c) + "'");
  }

  private ListValue list(int startLine) throws SyntaxException {
    List<Value> items = new ArrayList<>();
    while (true) {
      skipSpaceAndComments(true);
      if (atEnd()) {
        throw error("unexpected end of file: a '[' opened on line " + startLine + " is never closed");
      }
      if (peek() == ']') {
        pos++;
        return new ListValue(items, startLine);
      }
      items.add(value());
      skipSpaceAndComments(true);
      if (atEnd()) {
        throw error("unexpected end of file: a '[' opened on line " + startLine + " is never closed");
      }
      if (peek() == ',') {
        pos++;
      } else if (peek() != ']') {
        throw error("expected ',' or ']' in the list, found '" + printable(peek()) + "'");
      }
    }
  }

  private Str string() throws SyntaxException {
    int startLine = line;
    pos++; // opening quote
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (atEnd()) {
        throw error("unexpected end of file in a string that starts on line " + startLine);
      }
      char c = src.charAt(pos);
      if (c == '\n' || c == '\r') {
        throw error("the string is not closed on its line (missing '\"')");
      }
      pos++;
      if (c == '"') {
        return new Str(sb.toString(), startLine);
      }
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      if (atEnd()) {
        throw error("unexpected end of file after '\\'");
      }
      char e = src.charAt(pos++);
      switch (e) {
        case '"' -> sb.append('"');
        case '\\' -> sb.append('\\');
        case 'n' -> sb.append('\n');
        case 't' -> sb.append('\t');
        case 'r' -> sb.append('\r');
        case 'u' -> sb.append(unicode(4));
        case 'U' -> sb.append(unicode(8));
        default -> {
          pos--;
          throw error("unknown escape '\\" + printable(e) + "' in a string (write a backslash as \\\\)");
        }
      }
    }
  }

  private String unicode(int digits) throws SyntaxException {
    if (pos + digits > src.length()) {
      throw error("incomplete \\u escape");
    }
    String hex = src.substring(pos, pos + digits);
    try {
      int cp = Integer.parseInt(hex, 16);
      pos += digits;
      return new String(Character.toChars(cp));
    } catch (IllegalArgumentException e) {
      throw error("\"" + hex + "\" is not a unicode escape");
    }
  }

  /** Skips blanks and comments; newlines too when {@code newlines} is true. */
  private void skipSpaceAndComments(boolean newlines) throws SyntaxException {
    while (!atEnd()) {
      char c = peek();
      if (c == ' ' || c == '\t') {
        pos++;
      } else if (c == '\r' || c == '\n') {
        if (!newlines) {
          return;
        }
        newline();
      } else if (c == '#' || (c == '/' && src.startsWith("//", pos))) {
        while (!atEnd() && peek() != '\n') {
          pos++;
        }
      } else if (c == '/' && src.startsWith("/*", pos)) {
        int startLine = line;
        pos += 2;
        while (!src.startsWith("*/", pos)) {
          if (atEnd()) {
            throw error("unexpected end of file in a /* comment */ that starts on line " + startLine);
          }
          if (peek() == '\n') {
            newline();
          } else {
            pos++;
          }
        }
        pos += 2;
      } else {
        return;
      }
    }
  }

  private void newline() {
    if (peek() == '\r' && src.startsWith("\r\n", pos)) {
      pos++;
    }
    pos++;
    line++;
    lineStart = pos;
  }

  private boolean atEnd() {
    return pos >= src.length();
  }

  private char peek() {
    return src.charAt(pos);
  }

  private static boolean isIdentChar(char c) {
    return Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.';
  }

  private static String printable(char c) {
    return c < 0x20 ? String.format("\\x%02x", (int) c) : String.valueOf(c);
  }

  private SyntaxException error(String message) {
    return new SyntaxException(line, pos - lineStart + 1, message);
  }
}
