package dev.rotor.demo.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class XfccTest {
  private static final String FRONTEND = "spiffe://example.org/ns/demo/sa/frontend";

  @Test
  void envoySanitizeSetHeader_givesTheCallersUri() {
    // What Envoy writes with SANITIZE_SET and set_current_client_cert_details {uri: true}.
    String header = "By=spiffe://example.org/ns/demo/sa/backend;"
        + "Hash=5a6d2d5e1f0f7f3c7b3b6c1e1b2a0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b;URI=" + FRONTEND;

    assertThat(Xfcc.peerUri(header)).isEqualTo(FRONTEND);
  }

  @Test
  void quotedValues_mayHoldSeparators() {
    String header = "Hash=abc;Subject=\"CN=frontend,O=Rotor;OU=a=b\";URI=" + FRONTEND;

    Map<String, String> element = Xfcc.parse(header).get(0);

    assertThat(element).containsEntry("subject", "CN=frontend,O=Rotor;OU=a=b").containsEntry("uri", FRONTEND);
  }

  @Test
  void escapedQuoteInsideQuotedValue_isUnescaped() {
    Map<String, String> element = Xfcc.parse("Subject=\"CN=say \\\"hi\\\"\";URI=" + FRONTEND).get(0);

    assertThat(element).containsEntry("subject", "CN=say \"hi\"");
  }

  @Test
  void severalElements_theLastIsTheNearestProxys() {
    String header = "By=spiffe://example.org/edge;URI=spiffe://example.org/ns/other/sa/client,"
        + "By=spiffe://example.org/ns/demo/sa/backend;URI=" + FRONTEND;

    assertThat(Xfcc.parse(header)).hasSize(2);
    assertThat(Xfcc.peerUri(header)).isEqualTo(FRONTEND);
  }

  @Test
  void keysAreCaseInsensitive() {
    assertThat(Xfcc.peerUri("hash=abc;uri=" + FRONTEND)).isEqualTo(FRONTEND);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "missing header       | ''                                  | no x-forwarded-client-cert header",
      "blank header         | '   '                               | no x-forwarded-client-cert header",
      "no URI               | By=spiffe://example.org/b;Hash=abc  | has no URI in its last element",
      "URI not SPIFFE       | Hash=abc;URI=https://example.org/x  | is not a SPIFFE ID",
      "unterminated quote   | Subject=\"CN=x;URI=spiffe://e.org/a | unterminated quoted value",
      "pair without equals  | Hash=abc;garbage;URI=spiffe://e/a   | \"garbage\" before offset",
      "pair without key     | =abc;URI=spiffe://e/a               | a pair without a key",
      "last element has no URI | URI=spiffe://e/a,Hash=abc        | has no URI in its last element",
  })
  void malformedOrMissing_isRejectedWithTheReason(String defect, String header, String expected) {
    assertThatThrownBy(() -> Xfcc.peerUri(header)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(expected);
  }
}
