package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every limit's refusals are on /metrics, every reason from the start (at zero), and they count. */
class LimitMetricsTest {

  @TempDir Path dir;
  private RunningRotor rotor;

  @BeforeEach
  void start() {
    rotor = RunningRotor.start(dir, Optional.empty());
  }

  @AfterEach
  void stop() {
    rotor.close();
  }

  @Test
  void everyRefusalFamily_isExported_withEveryReason() {
    JsonNode m = PrometheusText.parse(rotor.get("/metrics").body());

    assertReasons(m, "rotor_admin_refusals", "reason",
        List.of("request_timeout", "response_timeout", "connection_limit", "request_too_large", "bad_request"));
    assertReasons(m, "rotor_uds_connection_refusals", "reason",
        List.of("uid_not_allowed", "no_peer_credentials", "connection_limit", "uid_connection_limit"));
    assertReasons(m, "rotor_xds_stream_refusals", "reason", List.of("stream_limit", "node_too_large", "subscription_limit"));
    assertReasons(m, "rotor_log_lines_suppressed", "line", List.of("uds_refusal", "xds_stream_refusal"));
  }

  @Test
  void aNodeOverTheLimit_isCounted() throws Exception {
    CompletableFuture<Throwable> ended = new CompletableFuture<>();
    SecretDiscoveryServiceGrpc.newStub(rotor.channel).streamSecrets(new StreamObserver<DiscoveryResponse>() {
      @Override
      public void onNext(DiscoveryResponse value) {}

      @Override
      public void onError(Throwable t) {
        ended.complete(t);
      }

      @Override
      public void onCompleted() {
        ended.complete(null);
      }
    }).onNext(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId("n".repeat(600)))
        .setTypeUrl(TypeUrls.SECRET).addResourceNames("default").build());

    await().atMost(Duration.ofSeconds(10)).until(ended::isDone);
    JsonNode m = PrometheusText.parse(rotor.get("/metrics").body());
    assertThat(OperationsTest.sample(m, "rotor_xds_stream_refusals", "rotor_xds_stream_refusals_total",
        Map.of("reason", "node_too_large"))).isEqualTo(1.0);
  }

  private static void assertReasons(JsonNode metrics, String family, String label, List<String> values) {
    for (String v : values) {
      assertThat(OperationsTest.sample(metrics, family, family + "_total", Map.of(label, v))).as("%s{%s=%s}", family,
          label, v).isZero();
    }
  }
}
