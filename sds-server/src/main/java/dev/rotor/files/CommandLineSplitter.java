package dev.rotor.files;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits {@code cmd_args} (and {@code reload_cmd}) into arguments the way spiffe-helper does (it
 * reads the string as one CSV record with a space as the separator): arguments are separated by
 * spaces; an argument that starts with a double quote runs to the matching closing quote and may
 * contain spaces; inside it, {@code ""} stands for one {@code "}. There is no shell: no variables,
 * globs or backslash escapes.
 *
 * <p>One deliberate difference: several spaces in a row separate two arguments, where
 * spiffe-helper would pass empty arguments between them.
 */
final class CommandLineSplitter {

  private CommandLineSplitter() {}

  /**
   * @throws IllegalArgumentException naming the problem, without a field name
   */
  static List<String> split(String line) {
    List<String> args = new ArrayList<>();
    int i = 0;
    int n = line.length();
    while (i < n) {
      char c = line.charAt(i);
      if (c == ' ') {
        i++;
        continue;
      }
      StringBuilder arg = new StringBuilder();
      if (c == '"') {
        int open = i;
        i++;
        while (true) {
          if (i >= n) {
            throw new IllegalArgumentException("the double quote at position " + (open + 1) + " is never closed");
          }
          char d = line.charAt(i);
          if (d == '"') {
            if (i + 1 < n && line.charAt(i + 1) == '"') {
              arg.append('"');
              i += 2;
              continue;
            }
            i++;
            break;
          }
          arg.append(d);
          i++;
        }
        if (i < n && line.charAt(i) != ' ') {
          throw new IllegalArgumentException("unexpected '" + line.charAt(i) + "' after the closing quote at position "
              + i + " (expected a space between arguments)");
        }
      } else {
        while (i < n && line.charAt(i) != ' ') {
          if (line.charAt(i) == '"') {
            throw new IllegalArgumentException("a double quote inside an argument at position " + (i + 1)
                + " (quote the whole argument: \"a b\"; write a quote inside quotes as \"\")");
          }
          arg.append(line.charAt(i));
          i++;
        }
      }
      args.add(arg.toString());
    }
    return List.copyOf(args);
  }
}
