package dev.rotor.text;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What an echoed value looks like: printable ASCII as it is, everything else as a Java escape. */
class EchoedTextTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "plain                  | spiffe://example.org/a      | `\"spiffe://example.org/a\"`",
      "quote and backslash    | a\"b\\c                      | `\"a\\\"b\\\\c\"`",
      "newline forges a line  | `a\nWARN forged`            | `\"a\\nWARN forged\"`",
      "terminal escape        | `\u001b[31mred`             | `\"\\u001b[31mred\"`",
      "Cyrillic look-alike    | ex\u0430mple.org           | `\"ex\\u0430mple.org\"`",
      "right-to-left override | txt\u202eexe                | `\"txt\\u202eexe\"`",
      "zero-width space       | a\u200bb                    | `\"a\\u200bb\"`",
      "DEL                    | `a\u007fb`                  | `\"a\\u007fb\"`",
  })
  void quote(String what, String value, String expected) {
    assertThat(EchoedText.quote(value)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "short stays        | abc     | 5 | abc",
      "long is cut        | abcdefg | 3 | abc...(7 chars)",
      "escaped after cut  | `\u0430\u0431\u0432\u0433` | 2 | `\\u0430\\u0431...(4 chars)`",
  })
  void clip(String what, String value, int max, String expected) {
    assertThat(EchoedText.clip(value, max)).isEqualTo(expected);
  }

  @Test
  void clip_neverSplitsASurrogatePair() {
    String emoji = "a\ud83d\ude00b";
    assertThat(EchoedText.clip(emoji, 2)).isEqualTo("a...(4 chars)");
  }
}
