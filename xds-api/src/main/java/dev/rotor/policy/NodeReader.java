package dev.rotor.policy;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Reads typed values out of a composed YAML node tree and collects every problem with the file
 * name, the field path and the node's line, instead of stopping at the first. Each read returns
 * empty when the value is unusable (the problem has then been recorded), so callers can carry on
 * with the rest of the document.
 */
final class NodeReader {

  private final String file;
  private final List<PolicyError> errors = new ArrayList<>();

  NodeReader(String file) {
    this.file = file;
  }

  /**
   * Every error, by line (errors with no line first); errors on one line keep the order they were
   * found in.
   */
  List<PolicyError> errors() {
    List<PolicyError> sorted = new ArrayList<>(errors);
    sorted.sort(Comparator.comparingInt(e -> e.line().orElse(0)));
    return sorted;
  }

  int errorCount() {
    return errors.size();
  }

  void error(Node at, String path, String message) {
    OptionalInt line = at == null || at.getStartMark().isEmpty()
        ? OptionalInt.empty()
        : OptionalInt.of(at.getStartMark().get().getLine() + 1);
    errors.add(new PolicyError(file, path, message, line));
  }

  /** An error about the document as a whole (no field path), e.g. a YAML syntax error. */
  void errorAt(Optional<Integer> line, String message) {
    errors.add(new PolicyError(file, "", message, line.map(OptionalInt::of).orElse(OptionalInt.empty())));
  }

  static String child(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  static String index(String path, int i) {
    return path + "[" + i + "]";
  }

  /**
   * A mapping with string keys: reports duplicate keys and keys not in {@code allowed} (naming the
   * allowed ones), and returns the rest in document order.
   */
  Optional<Map<String, Node>> mapping(Node node, String path, List<String> allowed) {
    if (!(node instanceof MappingNode m)) {
      error(node, path, got(node) + " (expected a mapping with keys " + String.join(", ", allowed) + ")");
      return Optional.empty();
    }
    Map<String, Node> values = new LinkedHashMap<>();
    Map<String, Node> keyNodes = new LinkedHashMap<>();
    for (NodeTuple t : m.getValue()) {
      Node k = t.getKeyNode();
      if (!(k instanceof ScalarNode ks) || k.getTag().equals(Tag.NULL)) {
        error(k, path, "a key must be a string, " + got(k) + " (expected one of: " + String.join(", ", allowed) + ")");
        continue;
      }
      String key = ks.getValue();
      String keyPath = child(path, key);
      if (!allowed.contains(key)) {
        error(k, keyPath, "unknown key (expected one of: " + String.join(", ", allowed) + ")");
        continue;
      }
      Node first = keyNodes.putIfAbsent(key, k);
      if (first != null) {
        error(k, keyPath, "duplicate key (first at line " + line(first) + ")");
        continue;
      }
      values.put(key, t.getValueNode());
    }
    return Optional.of(values);
  }

  /** A sequence; {@code what} names the elements for the message ("a list of workloads"). */
  Optional<List<Node>> sequence(Node node, String path, String what) {
    if (node instanceof SequenceNode s) {
      return Optional.of(s.getValue());
    }
    error(node, path, got(node) + " (expected " + what + ")");
    return Optional.empty();
  }

  /** Each element of a sequence read with {@code element}; empty if any element was unusable. */
  <T> Optional<List<T>> list(Node node, String path, String what, ElementReader<T> element) {
    Optional<List<Node>> items = sequence(node, path, what);
    if (items.isEmpty()) {
      return Optional.empty();
    }
    List<T> out = new ArrayList<>();
    boolean ok = true;
    for (int i = 0; i < items.get().size(); i++) {
      Optional<T> v = element.read(items.get().get(i), index(path, i));
      if (v.isPresent()) {
        out.add(v.get());
      } else {
        ok = false;
      }
    }
    return ok ? Optional.of(out) : Optional.empty();
  }

  /** Reads one element of a list at its path. */
  @FunctionalInterface
  interface ElementReader<T> {
    Optional<T> read(Node node, String path);
  }

  /**
   * A scalar read as text. Plain numbers are accepted as text too (a node id may well be
   * {@code 42}); null, booleans, collections and custom tags are not.
   */
  Optional<String> string(Node node, String path, String expected) {
    if (node instanceof ScalarNode s && (s.getTag().equals(Tag.STR) || s.getTag().equals(Tag.INT))) {
      return Optional.of(s.getValue());
    }
    error(node, path, got(node) + " (expected " + expected + ")");
    return Optional.empty();
  }

  /** A string that must pass {@code check} (a {@link PolicyValues} rule). */
  Optional<String> checked(Node node, String path, String expected, Function<String, Optional<String>> check) {
    Optional<String> s = string(node, path, expected);
    if (s.isEmpty()) {
      return s;
    }
    Optional<String> problem = check.apply(s.get());
    if (problem.isPresent()) {
      error(node, path, problem.get());
      return Optional.empty();
    }
    return s;
  }

  /** A YAML integer (not a quoted one). */
  OptionalInt integer(Node node, String path, String expected) {
    if (node instanceof ScalarNode s && s.getTag().equals(Tag.INT)) {
      BigInteger v;
      try {
        v = new BigInteger(s.getValue());
      } catch (NumberFormatException e) {
        // Only with a schema that resolves forms like 0x1F as integers; the default one does not.
        error(node, path, PolicyValues.quote(s.getValue()) + " is not a decimal integer (expected " + expected + ")");
        return OptionalInt.empty();
      }
      if (v.bitLength() < 32) {
        return OptionalInt.of(v.intValueExact());
      }
      error(node, path, s.getValue() + " is out of range (expected " + expected + ")");
      return OptionalInt.empty();
    }
    error(node, path, got(node) + " (expected " + expected + ")");
    return OptionalInt.empty();
  }

  /** A port number, 1..65535. */
  OptionalInt port(Node node, String path) {
    OptionalInt p = integer(node, path, "a port number 1..65535");
    if (p.isPresent()) {
      Optional<String> problem = PolicyValues.port(p.getAsInt());
      if (problem.isPresent()) {
        error(node, path, problem.get());
        return OptionalInt.empty();
      }
    }
    return p;
  }

  /** The value under a required key, or empty after reporting it missing. */
  Optional<Node> required(Map<String, Node> map, String key, Node parent, String path, String expected) {
    Node v = map.get(key);
    if (v == null) {
      error(parent, child(path, key), "missing (expected " + expected + ")");
      return Optional.empty();
    }
    return Optional.of(v);
  }

  /** Describes a node for "got X (expected Y)" messages, quoting scalars. */
  static String got(Node node) {
    if (node == null) {
      return "got nothing";
    }
    if (node instanceof MappingNode) {
      return "got a mapping";
    }
    if (node instanceof SequenceNode) {
      return "got a list";
    }
    ScalarNode s = (ScalarNode) node;
    Tag tag = s.getTag();
    if (tag.equals(Tag.NULL)) {
      return "got an empty value";
    }
    String kind = tag.equals(Tag.STR) ? "a string"
        : tag.equals(Tag.INT) ? "an integer"
        : tag.equals(Tag.FLOAT) ? "a number"
        : tag.equals(Tag.BOOL) ? "a boolean"
        : "a value tagged " + tag.getValue();
    return "got " + kind + " " + PolicyValues.quote(s.getValue());
  }

  private static String line(Node n) {
    return n.getStartMark().map(m -> String.valueOf(m.getLine() + 1)).orElse("?");
  }
}
