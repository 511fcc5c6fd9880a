package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rotor.cli.RotorMain;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.testing.TestPki;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.admin.v3.ClientResourceStatus;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.status.v3.ClientConfig;
import io.envoyproxy.envoy.service.status.v3.ClientConfig.GenericXdsConfig;
import io.envoyproxy.envoy.service.status.v3.ClientStatusDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.status.v3.ClientStatusRequest;
import io.envoyproxy.envoy.service.status.v3.ClientStatusResponse;
import io.envoyproxy.envoy.service.status.v3.ConfigStatus;
import io.envoyproxy.envoy.type.matcher.v3.NodeMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's view of a running Rotor: admin endpoints, metrics (checked by a real Prometheus
 * text parser), /status, CSDS and {@code rotor status}, driven by real xDS clients on the Unix
 * socket.
 */
class OperationsTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private RunningRotor rotor;
  private final List<XdsClient> clients = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    Path policy = dir.resolve("policy.yaml");
    Files.writeString(policy, RunningRotor.policy(9000));
    rotor = RunningRotor.start(dir, Optional.of(policy));
    await("the dev CA's first identity").atMost(Duration.ofSeconds(10))
        .until(() -> rotor.runtime.gate().status().current().isPresent());
  }

  @AfterEach
  void stop() throws Exception {
    clients.forEach(XdsClient::close);
    rotor.close();
  }

  private XdsClient sds(String node) {
    XdsClient c = XdsClient.sds(rotor.channel, node);
    clients.add(c);
    return c;
  }

  private XdsClient ads(String node) {
    XdsClient c = XdsClient.ads(rotor.channel, node);
    clients.add(c);
    return c;
  }

  private JsonNode status() throws Exception {
    HttpResponse<String> r = rotor.get("/status");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    return JSON.readTree(r.body());
  }

  private static JsonNode envoy(JsonNode status, String node) {
    for (JsonNode e : status.path("envoys")) {
      if (e.path("node_id").asText().equals(node)) {
        return e;
      }
    }
    throw new AssertionError("no envoy " + node + " in /status: " + status.path("envoys"));
  }

  @Test
  void healthz_isAlive_readyz_isReadyWithIdentityAndPolicy() throws Exception {
    assertThat(rotor.get("/healthz").statusCode()).isEqualTo(200);
    HttpResponse<String> ready = rotor.get("/readyz");
    assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
    assertThat(JSON.readTree(ready.body()).path("ready").asBoolean()).isTrue();
    assertThat(rotor.get("/nope").statusCode()).isEqualTo(404);
  }

  @Test
  void status_showsIdentityWithoutKeyBytes_andEachEnvoysSyncState() throws Exception {
    XdsClient envoy = sds("frontend-1");
    envoy.subscribe(TypeUrls.SECRET, "default", "ROOTCA");
    DiscoveryResponse first = envoy.await();
    envoy.ack(first, "default", "ROOTCA");
    await("the ACK in /status").atMost(Duration.ofSeconds(10))
        .until(() -> envoy(status(), "frontend-1").path("sync").path("sds").path("state").asText().equals("SYNCED"));

    JsonNode s = status();
    Svid served = rotor.runtime.gate().status().current().orElseThrow().svids().get(0);
    JsonNode svid = s.path("identity").path("svids").get(0);
    assertThat(svid.path("spiffe_id").asText()).isEqualTo(RunningRotor.WORKLOAD.toString());
    assertThat(svid.path("serial").asText()).isEqualTo(served.serialHex());
    assertThat(svid.path("not_after").asText()).isEqualTo(served.notAfter().toString());
    assertThat(s.path("identity").path("bundles").get(0).path("trust_domain").asText()).isEqualTo("example.org");
    assertThat(s.path("policy").path("version").asText()).isNotEmpty();

    JsonNode e = envoy(s, "frontend-1");
    assertThat(e.path("peer").asText()).startsWith("uid=" + RunningRotor.ownUid());
    assertThat(e.path("identities").get(0).path("spiffe_id").asText()).isEqualTo(RunningRotor.WORKLOAD.toString());
    assertThat(e.path("identities").get(0).path("serial").asText()).isEqualTo(served.serialHex());
    JsonNode sds = e.path("streams").get(0).path("types").path("sds");
    assertThat(sds.path("sent_version").asText()).isEqualTo(first.getVersionInfo());
    assertThat(sds.path("acked_version").asText()).isEqualTo(first.getVersionInfo());
    assertThat(sds.path("resources")).extracting(r -> r.path("state").asText()).containsOnly("ACKED");
  }

  @Test
  void nack_isShownWithItsErrorInStatusMetricsAndCsds() throws Exception {
    XdsClient envoy = sds("frontend-2");
    envoy.subscribe(TypeUrls.SECRET, "default");
    DiscoveryResponse first = envoy.await();
    envoy.nack(first, "", "Failed to load certificate chain (test NACK)", "default");
    await("the NACK in /status").atMost(Duration.ofSeconds(10))
        .until(() -> envoy(status(), "frontend-2").path("sync").path("sds").path("state").asText().equals("NACKED"));
    JsonNode sync = envoy(status(), "frontend-2").path("sync").path("sds");
    assertThat(sync.path("error").asText()).isEqualTo("Failed to load certificate chain (test NACK)");

    JsonNode nack = envoy(status(), "frontend-2").path("streams").get(0).path("types").path("sds").path("last_nack");
    assertThat(nack.path("rejected_version").asText()).isEqualTo(first.getVersionInfo());
    assertThat(nack.path("nonce").asText()).isEqualTo(first.getNonce());
    assertThat(nack.path("at").asText()).isNotEmpty();

    JsonNode metrics = PrometheusText.parse(rotor.get("/metrics").body());
    assertThat(sample(metrics, "rotor_xds_nacks", "rotor_xds_nacks_total", Map.of("type", "sds"))).isEqualTo(1.0);

    ClientStatusResponse csds = csds(ClientStatusRequest.getDefaultInstance());
    GenericXdsConfig secret = config(csds, "frontend-2", "default");
    assertThat(secret.getConfigStatus()).isEqualTo(ConfigStatus.ERROR);
    assertThat(secret.getClientStatus()).isEqualTo(ClientResourceStatus.NACKED);
    assertThat(secret.getErrorState().getDetails()).isEqualTo("Failed to load certificate chain (test NACK)");
    assertThat(secret.getErrorState().getVersionInfo()).isNotEmpty();
  }

  @Test
  void csds_reportsAckedSecretsByNameAndVersionOnly_andListenersWithTheirConfig() throws Exception {
    XdsClient sidecar = ads("backend");
    sidecar.subscribe(TypeUrls.CLUSTER);
    DiscoveryResponse clusters = sidecar.await(TypeUrls.CLUSTER);
    sidecar.ack(clusters);
    sidecar.subscribe(TypeUrls.LISTENER);
    DiscoveryResponse listeners = sidecar.await(TypeUrls.LISTENER);
    sidecar.ack(listeners);
    sidecar.subscribe(TypeUrls.SECRET, "default");
    DiscoveryResponse secrets = sidecar.await(TypeUrls.SECRET);
    sidecar.ack(secrets, "default");

    await("every type ACKed in CSDS").atMost(Duration.ofSeconds(10)).until(() -> {
      ClientConfig c = csds(ClientStatusRequest.getDefaultInstance()).getConfigList().stream()
          .filter(x -> x.getNode().getId().equals("backend")).findFirst().orElse(null);
      return c != null && !c.getGenericXdsConfigsList().isEmpty() && c.getGenericXdsConfigsList().stream()
          .allMatch(g -> g.getClientStatus() == ClientResourceStatus.ACKED);
    });
    ClientStatusResponse csds = csds(ClientStatusRequest.getDefaultInstance());
    GenericXdsConfig secret = config(csds, "backend", "default");
    assertThat(secret.getTypeUrl()).isEqualTo(TypeUrls.SECRET);
    assertThat(secret.getConfigStatus()).isEqualTo(ConfigStatus.SYNCED);
    assertThat(secret.getVersionInfo()).isNotEmpty();
    assertThat(secret.hasXdsConfig()).as("a secret never carries its body").isFalse();
    GenericXdsConfig listener = csds.getConfigList().stream().filter(c -> c.getNode().getId().equals("backend"))
        .flatMap(c -> c.getGenericXdsConfigsList().stream()).filter(g -> g.getTypeUrl().equals(TypeUrls.LISTENER))
        .findFirst().orElseThrow();
    assertThat(listener.getXdsConfig().getTypeUrl()).isEqualTo(TypeUrls.LISTENER);

    // Node matchers filter; unsupported ones are refused, never ignored.
    ClientStatusResponse none = csds(ClientStatusRequest.newBuilder().addNodeMatchers(NodeMatcher.newBuilder()
        .setNodeId(StringMatcher.newBuilder().setExact("frontend"))).build());
    assertThat(none.getConfigList()).isEmpty();
    ClientStatusResponse some = csds(ClientStatusRequest.newBuilder().addNodeMatchers(NodeMatcher.newBuilder()
        .setNodeId(StringMatcher.newBuilder().setPrefix("back"))).build());
    assertThat(some.getConfigList()).extracting(c -> c.getNode().getId()).containsExactly("backend");
  }

  @Test
  void metrics_parseWithThePrometheusParser_andCountStreamsResponsesAndIdentities() throws Exception {
    XdsClient envoy = sds("frontend-3");
    envoy.subscribe(TypeUrls.SECRET, "default");
    envoy.ack(envoy.await(), "default");
    await("the ACK counted").atMost(Duration.ofSeconds(10)).until(() ->
        sample(PrometheusText.parse(rotor.get("/metrics").body()), "rotor_xds_acks", "rotor_xds_acks_total",
            Map.of("type", "sds")) >= 1.0);

    HttpResponse<String> r = rotor.get("/metrics");
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    JsonNode m = PrometheusText.parse(r.body());
    assertThat(sample(m, "rotor_xds_streams", "rotor_xds_streams", Map.of("kind", "sds_sotw"))).isEqualTo(1.0);
    assertThat(sample(m, "rotor_xds_subscribed_streams", "rotor_xds_subscribed_streams", Map.of("type", "sds")))
        .isEqualTo(1.0);
    assertThat(sample(m, "rotor_xds_responses", "rotor_xds_responses_total", Map.of("type", "sds"))).isGreaterThanOrEqualTo(1.0);
    assertThat(sample(m, "rotor_identity_updates", "rotor_identity_updates_total", Map.of())).isGreaterThanOrEqualTo(1.0);
    assertThat(sample(m, "rotor_identity_refusals", "rotor_identity_refusals_total", Map.of("reason", "key_mismatch")))
        .isEqualTo(0.0);
    assertThat(sample(m, "rotor_svid_expiry_seconds", "rotor_svid_expiry_seconds",
        Map.of("spiffe_id", RunningRotor.WORKLOAD.toString()))).isBetween(3000.0, 3600.0);
    assertThat(m.path("rotor_push_latency_seconds").path("type").asText()).isEqualTo("histogram");
    assertThat(m.path("rotor_rotation_convergence_seconds").path("type").asText()).isEqualTo("histogram");
    for (String family : List.of("rotor_policy_reloads", "rotor_policy_rejections", "rotor_file_writes",
        "rotor_file_write_failures", "rotor_file_signal_deliveries", "rotor_rotations")) {
      assertThat(m.has(family)).as(family + " in " + m.fieldNames()).isTrue();
      assertThat(m.path(family).path("type").asText()).isEqualTo("counter");
    }
    assertThat(sample(m, "rotor_file_writes", "rotor_file_writes_total", Map.of())).isEqualTo(0.0);
    assertThat(sample(m, "rotor_ready", "rotor_ready", Map.of())).isEqualTo(1.0);
  }

  @Test
  void rotation_convergesWhenEveryStreamAckedTheNewIdentity() throws Exception {
    XdsClient a = sds("frontend-4");
    XdsClient b = sds("frontend-5");
    for (XdsClient c : List.of(a, b)) {
      c.subscribe(TypeUrls.SECRET, "default");
      c.ack(c.await(), "default");
    }
    TestPki pki = TestPki.forTrustDomain("example.org");
    Svid next = pki.issue("/ns/demo/sa/backend");
    rotor.runtime.gate().onSnapshot(IdentitySnapshot.of(List.of(next), Map.of(pki.trustDomain(), pki.bundle())));
    DiscoveryResponse ra = a.await();
    DiscoveryResponse rb = b.await();
    a.ack(ra, "default");
    JsonNode before = PrometheusText.parse(rotor.get("/metrics").body());
    assertThat(sample(before, "rotor_rotation_convergence_seconds", "rotor_rotation_convergence_seconds_count", Map.of()))
        .as("one stream still owes its ACK").isEqualTo(0.0);
    b.ack(rb, "default");
    await("convergence observed").atMost(Duration.ofSeconds(10)).until(() ->
        sample(PrometheusText.parse(rotor.get("/metrics").body()), "rotor_rotation_convergence_seconds",
            "rotor_rotation_convergence_seconds_count", Map.of()) == 1.0);
    JsonNode m = PrometheusText.parse(rotor.get("/metrics").body());
    assertThat(sample(m, "rotor_rotations", "rotor_rotations_total", Map.of("outcome", "converged"))).isEqualTo(1.0);
    assertThat(envoy(status(), "frontend-4").path("identities").get(0).path("serial").asText())
        .isEqualTo(next.serialHex());
  }

  @Test
  void rotorStatus_printsOneRowPerEnvoy_andJsonForScripts() throws Exception {
    XdsClient envoy = sds("frontend-6");
    envoy.subscribe(TypeUrls.SECRET, "default");
    envoy.ack(envoy.await(), "default");
    await("SYNCED").atMost(Duration.ofSeconds(10))
        .until(() -> envoy(status(), "frontend-6").path("sync").path("sds").path("state").asText().equals("SYNCED"));

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = RotorMain.run(new PrintWriter(out, true), new PrintWriter(err, true), "status", "--admin", rotor.adminUrl());
    assertThat(code).as(err.toString()).isZero();
    List<String> lines = out.toString().lines().toList();
    assertThat(lines.get(0)).startsWith("NODE").contains("IDENTITY", "EXPIRES IN", "SDS", "LDS", "CDS");
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("frontend-6").contains(RunningRotor.WORKLOAD.toString(),
        "SYNCED"));

    StringWriter json = new StringWriter();
    code = RotorMain.run(new PrintWriter(json, true), new PrintWriter(err, true), "status", "--admin", rotor.adminUrl(),
        "--json");
    assertThat(code).isZero();
    JsonNode rows = JSON.readTree(json.toString());
    JsonNode row = null;
    for (JsonNode r : rows) {
      if (r.path("node").asText().equals("frontend-6")) {
        row = r;
      }
    }
    assertThat(row).isNotNull();
    assertThat(row.path("sds").path("state").asText()).isEqualTo("SYNCED");
    assertThat(row.path("lds").path("state").asText()).isEqualTo("-");
    assertThat(row.path("expires_in_seconds").asLong()).isBetween(3000L, 3600L);
  }

  @Test
  void streamClientStatus_answersEachRequest_andEndsWithUnavailableAtShutdown() throws Exception {
    XdsClient envoy = sds("frontend-7");
    envoy.subscribe(TypeUrls.SECRET, "default");
    envoy.ack(envoy.await(), "default");
    java.util.concurrent.BlockingQueue<Object> inbox = new java.util.concurrent.LinkedBlockingQueue<>();
    io.grpc.stub.StreamObserver<ClientStatusRequest> requests = ClientStatusDiscoveryServiceGrpc.newStub(rotor.channel)
        .streamClientStatus(new io.grpc.stub.StreamObserver<>() {
          @Override
          public void onNext(ClientStatusResponse value) {
            inbox.add(value);
          }

          @Override
          public void onError(Throwable t) {
            inbox.add(io.grpc.Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            inbox.add(io.grpc.Status.OK);
          }
        });
    requests.onNext(ClientStatusRequest.getDefaultInstance());
    Object first = inbox.poll(10, TimeUnit.SECONDS);
    assertThat(first).isInstanceOf(ClientStatusResponse.class);
    assertThat(((ClientStatusResponse) first).getConfigList()).extracting(c -> c.getNode().getId())
        .contains("frontend-7");
    requests.onNext(ClientStatusRequest.getDefaultInstance());
    assertThat(inbox.poll(10, TimeUnit.SECONDS)).isInstanceOf(ClientStatusResponse.class);

    long t0 = System.nanoTime();
    rotor.runtime.close();
    Object end = inbox.poll(10, TimeUnit.SECONDS);
    assertThat(end).isInstanceOf(io.grpc.Status.class);
    assertThat(((io.grpc.Status) end).getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
    assertThat(envoy.awaitClosed(Duration.ofSeconds(5)).getCode()).isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("close() does not sit out a grace period")
        .isLessThan(Duration.ofSeconds(3));
  }

  private ClientStatusResponse csds(ClientStatusRequest request) {
    return ClientStatusDiscoveryServiceGrpc.newBlockingStub(rotor.channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS).fetchClientStatus(request);
  }

  private static GenericXdsConfig config(ClientStatusResponse r, String node, String name) {
    return r.getConfigList().stream().filter(c -> c.getNode().getId().equals(node))
        .flatMap(c -> c.getGenericXdsConfigsList().stream()).filter(g -> g.getName().equals(name))
        .findFirst().orElseThrow(() -> new AssertionError("no " + name + " for " + node + " in CSDS"));
  }

  /** The value of one sample of a parsed family; fails when absent. */
  static double sample(JsonNode metrics, String family, String sample, Map<String, String> labels) {
    JsonNode f = metrics.path(family);
    if (f.isMissingNode()) {
      throw new AssertionError("no metric family " + family + " (have: " + List.copyOf(iter(metrics)) + ")");
    }
    for (JsonNode s : f.path("samples")) {
      if (!s.get(0).asText().equals(sample)) {
        continue;
      }
      boolean match = true;
      for (Map.Entry<String, String> l : labels.entrySet()) {
        match &= l.getValue().equals(s.get(1).path(l.getKey()).asText(null));
      }
      if (match) {
        return s.get(2).asDouble();
      }
    }
    throw new AssertionError("no sample " + sample + labels + " in " + f);
  }

  private static List<String> iter(JsonNode n) {
    List<String> names = new ArrayList<>();
    n.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
