package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.service.status.v3.ClientStatusDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.status.v3.ClientStatusRequest;
import io.envoyproxy.envoy.service.status.v3.ClientStatusResponse;
import io.envoyproxy.envoy.type.matcher.v3.NodeMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 7: CSDS node matchers against a real {@code rotor serve}. A {@code safe_regex}
 * that backtracks exponentially in {@code java.util.regex} ({@code (.*a){12}$} against a 40-character
 * node id takes minutes there) must be answered at once, by several callers at the same time.
 */
class CsdsHostileInputTest {

  /** 39 × 'a' then 'b': the pattern cannot match, and a backtracking engine tries every split. */
  private static final String NODE = "a".repeat(39) + "b";

  @TempDir Path dir;
  private RunningRotor rotor;
  private final List<XdsClient> clients = new ArrayList<>();

  @BeforeEach
  void start() {
    rotor = RunningRotor.start(dir, Optional.empty());
    await("the dev CA's first identity").atMost(Duration.ofSeconds(10))
        .until(() -> rotor.runtime.gate().status().current().isPresent());
    XdsClient envoy = XdsClient.sds(rotor.channel, NODE);
    clients.add(envoy);
    envoy.subscribe(TypeUrls.SECRET, "default");
    envoy.await();
  }

  @AfterEach
  void stop() {
    clients.forEach(XdsClient::close);
    rotor.close();
  }

  @Test
  void backtrackingSafeRegex_isAnsweredAtOnce_byFourCallersTogether() throws Exception {
    List<CompletableFuture<ClientStatusResponse>> calls = new ArrayList<>();
    long start = System.nanoTime();
    for (int i = 0; i < 4; i++) {
      calls.add(fetch(regex("(.*a){12}$")));
    }

    for (CompletableFuture<ClientStatusResponse> call : calls) {
      assertThat(call.get(15, TimeUnit.SECONDS).getConfigList()).isEmpty();
    }
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(took).as("four CSDS calls with a backtracking regex").isLessThan(Duration.ofSeconds(2));
    System.out.println("[csds-regex] four calls with (.*a){12}$ against a 40-character node id answered in "
        + took.toMillis() + " ms");
    // and the same engine still matches what it should
    assertThat(fetch(regex("a+b")).get(15, TimeUnit.SECONDS).getConfigList())
        .extracting(c -> c.getNode().getId()).containsExactly(NODE);
  }

  private CompletableFuture<ClientStatusResponse> fetch(ClientStatusRequest request) {
    CompletableFuture<ClientStatusResponse> f = new CompletableFuture<>();
    ClientStatusDiscoveryServiceGrpc.newStub(rotor.channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .fetchClientStatus(request, new StreamObserver<>() {
          @Override
          public void onNext(ClientStatusResponse value) {
            f.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            f.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    return f;
  }

  static ClientStatusRequest regex(String regex) {
    return ClientStatusRequest.newBuilder().addNodeMatchers(NodeMatcher.newBuilder().setNodeId(StringMatcher.newBuilder()
        .setSafeRegex(RegexMatcher.newBuilder().setRegex(regex)))).build();
  }
}
