package dev.rotor.cli;

import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyException;
import dev.rotor.policy.PolicyParser;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads a policy file for the CLI, turning I/O trouble into a one-line {@link UsageException}. */
final class PolicyFiles {
  private PolicyFiles() {}

  static String read(String flag, Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw UsageException.of(flag, "no such file: " + file);
    } catch (CharacterCodingException e) {
      throw UsageException.of(flag, file + " is not UTF-8 text");
    } catch (IOException e) {
      throw UsageException.of(flag, "cannot read " + file + ": " + e.getMessage());
    }
  }

  /** Parses the file; all errors become one {@link UsageException} with one error per line. */
  static Policy load(String flag, Path file) {
    try {
      return PolicyParser.parse(file.toString(), read(flag, file));
    } catch (PolicyException e) {
      throw new UsageException(flag + ": " + file + " is not a valid policy (" + e.errors().size()
          + " error" + (e.errors().size() == 1 ? "" : "s") + "; see: rotor policy check " + file + ")\n"
          + String.join("\n", e.errors().stream().map(Object::toString).toList()));
    }
  }
}
