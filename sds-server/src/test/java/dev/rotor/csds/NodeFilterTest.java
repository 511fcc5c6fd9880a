package dev.rotor.csds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.envoyproxy.envoy.type.matcher.v3.NodeMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** CSDS node matchers: RE2 semantics, and every way a caller-supplied matcher could cost too much is bounded. */
class NodeFilterTest {

  @Test
  void backtrackingPattern_isDecidedInLinearTime() {
    NodeFilter f = NodeFilter.of(List.of(regex("(.*a){12}$", false)));
    String nodeId = "a".repeat(39) + "b"; // java.util.regex: minutes

    assertTimeoutPreemptively(Duration.ofSeconds(2), () -> assertThat(f.matches(nodeId)).isFalse());
    assertThat(f.matches("a".repeat(12))).isTrue();
  }

  @Test
  void safeRegex_isAFullMatch_andIgnoreCaseWorks() {
    assertThat(NodeFilter.of(List.of(regex("front.*", false))).matches("frontend-1")).isTrue();
    assertThat(NodeFilter.of(List.of(regex("end", false))).matches("frontend")).isFalse();
    assertThat(NodeFilter.of(List.of(regex("FRONT[a-z]+", true))).matches("frontend")).isTrue();
  }

  @Test
  void overlongNodeId_matchesNoRegex_butOtherMatchersStillSeeIt() {
    String longId = "a".repeat(NodeFilter.MAX_REGEX_SUBJECT_LENGTH + 1);

    assertThat(NodeFilter.of(List.of(regex("a+", false))).matches(longId)).isFalse();
    assertThat(NodeFilter.of(List.of(regex("a+", false))).matches("a".repeat(NodeFilter.MAX_REGEX_SUBJECT_LENGTH)))
        .isTrue();
    assertThat(NodeFilter.of(List.of(NodeMatcher.newBuilder().setNodeId(StringMatcher.newBuilder().setPrefix("aaa"))
        .build())).matches(longId)).isTrue();
  }

  /** Each refused pattern is refused at once, before RE2/J compiles it (some would exhaust the heap). */
  @ParameterizedTest(name = "{0}: {1}")
  @CsvSource(delimiter = '|', value = {
      "nested counted repetition (27 characters, OOM in RE2/J)  | (((a{100}){100}){100}){100} | too complex",
      "nested counted repetition (23 characters, OOM in RE2/J)  | ((a{1000}){1000}){1000}     | too complex",
      "one nested counted repetition of a million               | ((a{1000}){1000})           | too complex",
      "counted repetition of a long sequence                    | (abcdefghij){101}           | too complex",
      "backreference (not RE2)                                  | (a)\\1                      | not a valid RE2 regular expression",
      "lookahead (not RE2)                                      | (?=a)a                      | not a valid RE2 regular expression",
      "unbalanced                                               | (a                          | not a valid RE2 regular expression",
  })
  void refusedPatterns(String defect, String pattern, String reason) {
    assertTimeoutPreemptively(Duration.ofSeconds(2), () -> assertThatThrownBy(
            () -> NodeFilter.of(List.of(regex(pattern, false))))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).startsWith("node_matchers[0].node_id.safe_regex: ")
              .contains(reason);
        }));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"[a-z]{1,100}-[0-9]{1,100}", "(frontend|backend)-[0-9a-f]{5,10}", "\\Q{1000}\\E.*",
      "[{]{2}x{2}", "a{,5}"})
  void ordinaryPatterns_areAccepted(String pattern) {
    NodeFilter.of(List.of(regex(pattern, false)));
  }

  @Test
  void longPattern_isRefused() {
    String pattern = "a".repeat(NodeFilter.MAX_REGEX_LENGTH + 1);

    assertThatThrownBy(() -> NodeFilter.of(List.of(regex(pattern, false))))
        .hasMessageContaining("node_matchers[0].node_id.safe_regex: " + pattern.length() + " characters (expected: at most "
            + NodeFilter.MAX_REGEX_LENGTH + ")");
  }

  @Test
  void tooManyMatchers_areRefused() {
    List<NodeMatcher> many = Collections.nCopies(NodeFilter.MAX_MATCHERS + 1, regex("a", false));

    assertThatThrownBy(() -> NodeFilter.of(many)).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getDescription()).isEqualTo("node_matchers: " + many.size()
            + " matchers (expected: at most " + NodeFilter.MAX_MATCHERS + ")"));
  }

  @Test
  void regexSize_countsNestedRepetitionsAsProducts() {
    assertThat(RegexSize.of("abc")).isEqualTo(3);
    assertThat(RegexSize.of("a{10}")).isEqualTo(11);
    assertThat(RegexSize.of("(a{10}){10}")).isEqualTo(((10 + 1) + 1) * 10 + 1);
    assertThat(RegexSize.of("((((a{1000}){1000}){1000}){1000}){1000}")).isGreaterThan(NodeFilter.MAX_REGEX_SIZE);
    assertThat(RegexSize.of("[a{1000}]")).isEqualTo(1); // braces in a class are literals
  }

  static NodeMatcher regex(String regex, boolean ignoreCase) {
    return NodeMatcher.newBuilder().setNodeId(StringMatcher.newBuilder().setIgnoreCase(ignoreCase)
        .setSafeRegex(RegexMatcher.newBuilder().setRegex(regex))).build();
  }
}
