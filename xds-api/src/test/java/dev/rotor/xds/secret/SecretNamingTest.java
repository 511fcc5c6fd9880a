package dev.rotor.xds.secret;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class SecretNamingTest {

  @Test
  void spireDefaults() {
    assertThat(SecretNaming.SPIRE_DEFAULTS).isEqualTo(new SecretNaming("default", "ROOTCA", "ALL"));
  }

  static Stream<Arguments> invalidNamings() {
    return Stream.of(
        Arguments.of("blankSvidName", new String[] {" ", "ROOTCA", "ALL"},
            "defaultSvidName: \" \" (expected: a non-empty name that is not \"*\" and does not start with spiffe://)"),
        Arguments.of("emptyBundleName", new String[] {"default", "", "ALL"}, "defaultBundleName: \"\""),
        Arguments.of("starAsAllBundlesName", new String[] {"default", "ROOTCA", "*"}, "allBundlesName: \"*\""),
        Arguments.of("spiffeIdAsBundleName", new String[] {"default", "spiffe://example.org", "ALL"},
            "defaultBundleName: \"spiffe://example.org\""),
        Arguments.of("sameNameTwice", new String[] {"default", "ROOTCA", "ROOTCA"},
            "secret names: default, ROOTCA, ROOTCA (expected: three different names)"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidNamings")
  void invalidNamingIsRefusedWithAMessageNamingTheField(String defect, String[] names, String message) {
    assertThatThrownBy(() -> new SecretNaming(names[0], names[1], names[2]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  @Test
  void nullNameIsRefusedNamingTheField() {
    assertThatThrownBy(() -> new SecretNaming("default", null, "ALL"))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("defaultBundleName");
  }
}
