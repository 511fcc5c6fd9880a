package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import dev.rotor.text.EchoedText;
import java.util.OptionalInt;

/**
 * One problem found in a policy file: where it is and what was expected. {@link #toString()} is
 * the line {@code rotor policy check} prints, e.g. {@code policy.yaml:12:
 * workloads[0].inbound.rules[2].from[0].spiffeId: "spiffe:/x" is not a SPIFFE ID: scheme is missing
 * or invalid (expected spiffe://<trust-domain>/<path>)}.
 *
 * @param file the file name as given to the parser
 * @param path the field path inside the document ({@code workloads[1].inbound.port}); empty for
 *     problems with the document as a whole (YAML syntax)
 * @param message what is wrong, naming the bad value and what was expected
 * @param line 1-based line of the offending node, when the YAML parser knows it
 */
public record PolicyError(String file, String path, String message, OptionalInt line) {

  public PolicyError {
    requireNonNull(line, "line");
    // Each may carry the file's own text (a key, a YAML parser's description of a character):
    // escaped, so an error shows a control character, a direction override or a look-alike
    // letter for what it is (issue 13, low).
    file = EchoedText.escape(requireNonNull(file, "file"));
    path = EchoedText.escape(requireNonNull(path, "path"));
    message = EchoedText.escape(requireNonNull(message, "message"));
  }

  /** An error with no known line. */
  public PolicyError(String file, String path, String message) {
    this(file, path, message, OptionalInt.empty());
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder(file);
    line.ifPresent(l -> b.append(':').append(l));
    b.append(": ");
    if (!path.isEmpty()) {
      b.append(path).append(": ");
    }
    return b.append(message).toString();
  }
}
