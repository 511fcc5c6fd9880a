package dev.rotor.testkit.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Lines as the demo frontend logs them (demo/README.md), one success and one failure. */
class FrontendCallsTest {
  private static final String SUCCESS = "{\"time\":\"2026-12-06T03:27:25.753629976Z\",\"message\":\"backend call"
      + " succeeded\",\"logger\":\"demo.frontend.calls\",\"level\":\"INFO\",\"outcome\":\"success\",\"status\":200,"
      + "\"latency_ms\":164,\"answer\":{\"frontendToBackend\":{\"spiffeId\":\"spiffe://example.org/ns/demo/sa/frontend\","
      + "\"authenticatedBy\":\"backend's Envoy (mTLS, then RBAC from the Rotor policy)\"},\"backendToDatabase\":"
      + "{\"currentUser\":\"backend\",\"ssl\":true,\"tlsVersion\":\"TLSv1.3\",\"clientCertificateDn\":"
      + "\"/C=US/O=SPIRE/CN=backend\",\"clientCertificateSerial\":\"120511920534322165052185628072982451047\"},"
      + "\"orders\":[{\"id\":1,\"item\":\"rotor blade\",\"quantity\":3,\"customer\":\"ada\"}]}}";
  private static final String FAILURE = "{\"time\":\"2026-12-06T03:30:00Z\",\"message\":\"backend call failed\","
      + "\"logger\":\"demo.frontend.calls\",\"level\":\"WARN\",\"outcome\":\"failure\",\"status\":403,\"latency_ms\":3,"
      + "\"error\":\"HTTP 403: RBAC: access denied\"}";

  @Test
  void aSuccessfulCall_givesTheCallerAndTheSerialPostgresSaw() {
    FrontendCalls.Call call = FrontendCalls.parse(SUCCESS).orElseThrow();

    assertThat(call.ok()).isTrue();
    assertThat(call.status()).isEqualTo(200);
    assertThat(call.at()).isEqualTo(Instant.parse("2026-12-06T03:27:25.753629976Z"));
    assertThat(call.latencyMillis()).isEqualTo(164);
    assertThat(call.callerSpiffeId()).contains("spiffe://example.org/ns/demo/sa/frontend");
    assertThat(call.databaseClientSerial()).contains(new BigInteger("120511920534322165052185628072982451047"));
    assertThat(call.databaseClientSerialHex()).contains(new BigInteger("120511920534322165052185628072982451047").toString(16));
  }

  @Test
  void aFailedCall_isNotOk_andKeepsItsError() {
    FrontendCalls.Call call = FrontendCalls.parse(FAILURE).orElseThrow();

    assertThat(call.ok()).isFalse();
    assertThat(call.status()).isEqualTo(403);
    assertThat(call.error()).isEqualTo("HTTP 403: RBAC: access denied");
    assertThat(call.callerSpiffeId()).isEmpty();
  }

  @Test
  void otherLines_andALineStillBeingWritten_areNoCalls() {
    assertThat(FrontendCalls.parse("{\"time\":\"2026-12-06T03:27:25Z\",\"message\":\"frontend listening\","
        + "\"logger\":\"dev.rotor.demo.frontend.FrontendApp\"}")).isEmpty();
    assertThat(FrontendCalls.parse(SUCCESS.substring(0, 120))).isEmpty();
  }
}
