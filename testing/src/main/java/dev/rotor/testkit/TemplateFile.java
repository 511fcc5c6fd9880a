package dev.rotor.testkit;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * A file of the repository (an Envoy bootstrap, the demo policy) run by a test "as it is, with
 * only the socket path and ports substituted": every substitution must find its text exactly
 * once, so a file that drifts (a second socket, a renamed port) fails the test instead of being
 * run half-changed. Immutable; each substitution returns a new value.
 */
public final class TemplateFile {
  private final String source;
  private final String text;

  private TemplateFile(String source, String text) {
    this.source = source;
    this.text = text;
  }

  public static TemplateFile fromFile(Path file) {
    try {
      return new TemplateFile(file.toString(), Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /** Text written by the test itself; {@code name} only labels errors. */
  public static TemplateFile of(String name, String text) {
    return new TemplateFile(requireNonNull(name, "name"), requireNonNull(text, "text"));
  }

  /** Replaces {@code from}, which must occur exactly once, by {@code to}. */
  public TemplateFile replaceOnce(String from, String to) {
    int count = text.split(Pattern.quote(from), -1).length - 1;
    if (count != 1) {
      throw new IllegalStateException(source + ": \"" + from + "\" occurs " + count
          + " times (expected exactly once, to substitute \"" + to + "\")");
    }
    return new TemplateFile(source, text.replace(from, to));
  }

  public String text() {
    return text;
  }

  /** Writes the text to {@code file} and returns the file. */
  public Path writeTo(Path file) {
    try {
      Files.writeString(file, text, StandardCharsets.UTF_8);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  @Override
  public String toString() {
    return source;
  }
}
