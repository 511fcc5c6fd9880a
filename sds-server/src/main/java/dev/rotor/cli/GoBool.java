package dev.rotor.cli;

import java.util.Set;
import picocli.CommandLine;

/**
 * A boolean flag value as Go's flag package reads it ({@code strconv.ParseBool}: 1, t, T, TRUE,
 * true, True, 0, f, F, FALSE, false, False), so spiffe-helper's {@code -daemon-mode=0} means what
 * it meant there.
 */
final class GoBool implements CommandLine.ITypeConverter<Boolean> {

  private static final Set<String> TRUE = Set.of("1", "t", "T", "TRUE", "true", "True");
  private static final Set<String> FALSE = Set.of("0", "f", "F", "FALSE", "false", "False");

  @Override
  public Boolean convert(String value) {
    if (TRUE.contains(value)) {
      return Boolean.TRUE;
    }
    if (FALSE.contains(value)) {
      return Boolean.FALSE;
    }
    throw new CommandLine.TypeConversionException("\"" + value + "\" is not a boolean (expected true or false)");
  }
}
