package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.rotor.files.HelperConfig.FileSettings;
import dev.rotor.files.HelperConfig.HealthChecks;
import dev.rotor.files.HelperConfig.JwtSvidOutput;
import dev.rotor.files.HelperConfig.Reload;
import dev.rotor.source.workload.JwtWorkloadApiClient;
import dev.rotor.source.workload.WorkloadApiAddress;
import dev.rotor.testing.FakeScheduler;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.spiffe.workloadapi.grpc.SpiffeWorkloadAPIGrpc;
import io.spiffe.workloadapi.grpc.Workload.JWTBundlesRequest;
import io.spiffe.workloadapi.grpc.Workload.JWTBundlesResponse;
import io.spiffe.workloadapi.grpc.Workload.JWTSVID;
import io.spiffe.workloadapi.grpc.Workload.JWTSVIDRequest;
import io.spiffe.workloadapi.grpc.Workload.JWTSVIDResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JWT-SVID and JWT bundle files from a fake agent's FetchJWTSVID / FetchJWTBundles. */
class JwtOutputsTest {

  @TempDir Path dir;
  private final FakeScheduler scheduler = new FakeScheduler(Instant.now().truncatedTo(ChronoUnit.SECONDS));
  private final FakeAgent agent = new FakeAgent();
  private final String name = InProcessServerBuilder.generateName();
  private Server server;
  private final List<FileWriterService> services = new ArrayList<>();

  @AfterEach
  void stop() {
    services.forEach(FileWriterService::close);
    if (server != null) {
      server.shutdownNow();
    }
  }

  /** The JWT half of a SPIRE agent: tokens per call, bundles pushed to every open stream. */
  static final class FakeAgent extends SpiffeWorkloadAPIGrpc.SpiffeWorkloadAPIImplBase {
    final List<JWTSVIDRequest> requests = new CopyOnWriteArrayList<>();
    final List<StreamObserver<JWTBundlesResponse>> bundleStreams = new CopyOnWriteArrayList<>();
    final AtomicInteger bundleStreamsOpened = new AtomicInteger();
    volatile Status failWith;
    volatile List<JWTSVID> svids = List.of();
    volatile JWTBundlesResponse bundles;

    @Override
    public void fetchJWTSVID(JWTSVIDRequest request, StreamObserver<JWTSVIDResponse> out) {
      requests.add(request);
      if (failWith != null) {
        out.onError(failWith.asRuntimeException());
        return;
      }
      out.onNext(JWTSVIDResponse.newBuilder().addAllSvids(svids).build());
      out.onCompleted();
    }

    @Override
    public void fetchJWTBundles(JWTBundlesRequest request, StreamObserver<JWTBundlesResponse> out) {
      bundleStreamsOpened.incrementAndGet();
      bundleStreams.add(out);
      if (bundles != null) {
        out.onNext(bundles);
      }
    }

    void push(JWTBundlesResponse next) {
      bundles = next;
      bundleStreams.forEach(s -> s.onNext(next));
    }

    void failStreams() {
      bundleStreams.forEach(s -> s.onError(Status.UNAVAILABLE.withDescription("agent restarting").asRuntimeException()));
      bundleStreams.clear();
    }
  }

  private JwtWorkloadApiClient client() throws Exception {
    if (server == null) {
      server = InProcessServerBuilder.forName(name).directExecutor().addService(agent).build().start();
    }
    return JwtWorkloadApiClient.forChannel("in-process", InProcessChannelBuilder.forName(name).directExecutor().build());
  }

  private HelperConfig config(List<JwtSvidOutput> svids, Optional<String> bundle, String hint) {
    return new HelperConfig(new WorkloadApiAddress.Unix(Path.of("/tmp/agent.sock")), dir, Optional.empty(), svids,
        bundle, new FileSettings(0644, 0600, 0640, 0600, Optional.empty(), Optional.empty()), Reload.none(), true,
        HealthChecks.disabled(), hint);
  }

  private FileWriterService service(HelperConfig config) throws Exception {
    FileWriterService s = new FileWriterService(config, scheduler, false, scheduler.clock(), new AtomicFileWriter(),
        dir, Optional.of(client()));
    services.add(s);
    return s;
  }

  private static String token(String spiffeId, String audience, Instant expiry) throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("k1").type(JOSEObjectType.JWT).build(),
        new JWTClaimsSet.Builder().subject(spiffeId).audience(audience).expirationTime(Date.from(expiry))
            .issueTime(new Date()).build());
    jwt.sign(new ECDSASigner((ECPrivateKey) g.generateKeyPair().getPrivate()));
    return jwt.serialize();
  }

  private static JWTSVID svid(String token, String hint) {
    return JWTSVID.newBuilder().setSpiffeId("spiffe://example.org/db").setSvid(token).setHint(hint).build();
  }

  @Test
  void jwtSvid_isWritten_thenRefreshedAtHalfItsLifetime() throws Exception {
    Instant expiry = scheduler.now().plus(Duration.ofMinutes(10));
    String first = token("spiffe://example.org/db", "db", expiry);
    agent.svids = List.of(svid(first, ""));
    FileWriterService s = service(config(List.of(new JwtSvidOutput("db", List.of("extra"), "db.token")),
        Optional.empty(), ""));
    scheduler.runDueTasks();

    assertThat(Files.readString(dir.resolve("db.token"))).isEqualTo(first);
    assertThat(Files.getPosixFilePermissions(dir.resolve("db.token")))
        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(agent.requests).singleElement().satisfies(r -> assertThat(r.getAudienceList())
        .containsExactly("db", "extra"));
    assertThat(s.status().ready()).isTrue();
    assertThat(s.firstWrite()).isDone();
    assertThat(scheduler.nextDelay()).isEqualTo(Duration.ofMinutes(5).plusSeconds(1));

    String second = token("spiffe://example.org/db", "db", expiry.plus(Duration.ofMinutes(5)));
    agent.svids = List.of(svid(second, ""));
    scheduler.advance(Duration.ofMinutes(5).plusSeconds(1));
    scheduler.runDueTasks();
    assertThat(agent.requests).hasSize(2);
    assertThat(Files.readString(dir.resolve("db.token"))).isEqualTo(second);
  }

  @Test
  void hint_selectsTheJwtSvid_andNoMatchIsAnError() throws Exception {
    Instant expiry = scheduler.now().plus(Duration.ofMinutes(10));
    String internal = token("spiffe://example.org/db", "db", expiry);
    agent.svids = List.of(svid(token("spiffe://example.org/db", "db", expiry), "external"), svid(internal, "internal"));
    service(config(List.of(new JwtSvidOutput("db", List.of(), "db.token")), Optional.empty(), "internal"));
    scheduler.runDueTasks();
    assertThat(Files.readString(dir.resolve("db.token"))).isEqualTo(internal);

    FileWriterService other = service(config(List.of(new JwtSvidOutput("db", List.of(), "other.token")),
        Optional.empty(), "web"));
    scheduler.runDueTasks();
    assertThat(other.status().lastError()).contains("jwt_svids other.token: no JWT-SVID has hint \"web\"; nothing"
        + " written");
    assertThat(Files.exists(dir.resolve("other.token"))).isFalse();
  }

  @Test
  void agentRefusal_isReported_andRetriedWithBackoff() throws Exception {
    agent.failWith = Status.PERMISSION_DENIED.withDescription("no identity issued");
    FileWriterService s = service(config(List.of(new JwtSvidOutput("db", List.of(), "db.token")), Optional.empty(),
        ""));
    scheduler.runDueTasks();
    assertThat(s.status().ready()).isFalse();
    assertThat(s.status().lastError()).contains("jwt_svids db.token: the agent has no identity for this workload yet:"
        + " FetchJWTSVID PERMISSION_DENIED (no identity issued)");
    assertThat(scheduler.nextDelay()).isEqualTo(Duration.ofSeconds(1));
    scheduler.advance(Duration.ofSeconds(1));
    assertThat(scheduler.nextDelay()).isEqualTo(Duration.ofSeconds(2));

    agent.failWith = null;
    agent.svids = List.of(svid(token("spiffe://example.org/db", "db", scheduler.now().plus(Duration.ofMinutes(4))),
        ""));
    scheduler.advance(Duration.ofSeconds(2));
    scheduler.runDueTasks();
    assertThat(s.status().ready()).isTrue();
    assertThat(s.status().lastError()).isEmpty();
  }

  @Test
  void tokenForAnotherAudience_isNotWritten() throws Exception {
    agent.svids = List.of(svid(token("spiffe://example.org/db", "somebody-else",
        scheduler.now().plus(Duration.ofMinutes(10))), ""));
    FileWriterService s = service(config(List.of(new JwtSvidOutput("db", List.of(), "db.token")), Optional.empty(),
        ""));
    scheduler.runDueTasks();
    assertThat(s.status().lastError()).hasValueSatisfying(e -> assertThat(e)
        .startsWith("jwt_svids db.token: the agent's JWT-SVID is not usable: "));
    assertThat(Files.exists(dir.resolve("db.token"))).isFalse();
  }

  @Test
  void jwtBundle_isWrittenAsSpiffeHelperWritesIt_andRewrittenOnlyWhenItChanges() throws Exception {
    byte[] jwksA = resource("agent-jwks-example.org.json");
    byte[] jwksB = resource("agent-jwks-p384.example.json");
    agent.bundles = JWTBundlesResponse.newBuilder()
        .putBundles("spiffe://zzz.org", ByteString.copyFrom(jwksB))
        .putBundles("spiffe://example.org", ByteString.copyFrom(jwksA)).build();
    FileWriterService s = service(config(List.of(), Optional.of("jwt_bundle.json"), ""));
    scheduler.runDueTasks();

    String json = Files.readString(dir.resolve("jwt_bundle.json"));
    assertThat(json).isEqualTo(new String(JwtBundleJson.render(Map.of("spiffe://example.org", jwksA,
        "spiffe://zzz.org", jwksB)), StandardCharsets.UTF_8));
    JsonNode parsed = new ObjectMapper().readTree(json);
    assertThat(parsed.has("zzz.org")).isTrue();
    assertThat(Files.getPosixFilePermissions(dir.resolve("jwt_bundle.json")))
        .isEqualTo(PosixFilePermissions.fromString("rw-r-----"));
    assertThat(s.status().ready()).isTrue();
    assertThat(s.status().writes()).isEqualTo(1);

    agent.push(agent.bundles); // same content
    scheduler.runDueTasks();
    assertThat(s.status().writes()).isEqualTo(1);

    agent.push(JWTBundlesResponse.newBuilder().putBundles("spiffe://example.org", ByteString.copyFrom(jwksB)).build());
    scheduler.runDueTasks();
    assertThat(s.status().writes()).isEqualTo(2);
    assertThat(Files.readString(dir.resolve("jwt_bundle.json"))).doesNotContain("zzz.org");
  }

  @Test
  void jwtBundleTheAgentSentBroken_isNotWritten_andTheFileInPlaceStays() throws Exception {
    agent.bundles = JWTBundlesResponse.newBuilder()
        .putBundles("spiffe://example.org", ByteString.copyFrom(resource("agent-jwks-example.org.json"))).build();
    FileWriterService s = service(config(List.of(), Optional.of("jwt_bundle.json"), ""));
    scheduler.runDueTasks();
    String before = Files.readString(dir.resolve("jwt_bundle.json"));

    agent.push(JWTBundlesResponse.newBuilder().putBundles("spiffe://example.org", ByteString.copyFromUtf8("{}x")).build());
    scheduler.runDueTasks();

    assertThat(Files.readString(dir.resolve("jwt_bundle.json"))).isEqualTo(before);
    assertThat(s.status().lastError()).hasValueSatisfying(e -> assertThat(e)
        .startsWith("jwt_bundle_file_name jwt_bundle.json: the agent's JWT bundle for example.org is not a usable JWKS")
        .endsWith("; not written"));
  }

  private static byte[] resource(String name) throws java.io.IOException {
    try (java.io.InputStream in = JwtOutputsTest.class.getResourceAsStream("/spiffe-helper/" + name)) {
      return in.readAllBytes();
    }
  }

  @Test
  void bundleStreamEnding_isReopenedAfterABackoff() throws Exception {
    agent.bundles = JWTBundlesResponse.newBuilder().putBundles("example.org", ByteString.copyFromUtf8("{\"keys\":[]}")).build();
    FileWriterService s = service(config(List.of(), Optional.of("jwt_bundle.json"), ""));
    scheduler.runDueTasks();
    agent.failStreams();
    scheduler.runDueTasks();
    assertThat(s.status().lastError()).contains("jwt_bundle_file_name jwt_bundle.json: the agent is unreachable:"
        + " FetchJWTBundles UNAVAILABLE (agent restarting)");
    assertThat(agent.bundleStreamsOpened).hasValue(1);
    scheduler.advance(Duration.ofSeconds(1));
    scheduler.runDueTasks();
    assertThat(agent.bundleStreamsOpened).hasValue(2);
    assertThat(s.status().lastError()).isEmpty();
  }
}
