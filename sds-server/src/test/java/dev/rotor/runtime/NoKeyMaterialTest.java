package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import com.google.protobuf.util.JsonFormat;
import dev.rotor.cli.RotorMain;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.testing.TestPki;
import dev.rotor.xds.TypeUrls;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.status.v3.ClientStatusDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.status.v3.ClientStatusRequest;
import io.envoyproxy.envoy.service.status.v3.ClientStatusResponse;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Rotations, a refused identity, NACKs and policy errors through a running Rotor, with every rotor
 * logger at TRACE: no log line (as JSON and as text), no metric, no /status, /readyz, CSDS or
 * {@code rotor status} output may contain the private key of any identity it served or was offered,
 * as PEM body lines, base64 of the PKCS#8 DER, or hex of the DER.
 */
class NoKeyMaterialTest {

  @TempDir Path dir;

  @Test
  void noOutputAtAnyLevel_containsPrivateKeyBytes() throws Exception {
    LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
    ByteArrayOutputStream jsonLog = new ByteArrayOutputStream();
    ByteArrayOutputStream textLog = new ByteArrayOutputStream();
    LogstashEncoder jsonEncoder = new LogstashEncoder();
    PatternLayoutEncoder textEncoder = new PatternLayoutEncoder();
    textEncoder.setPattern("%d %-5level %logger: %msg %kvp%n%ex");
    OutputStreamAppender<ILoggingEvent> jsonAppender = appender(ctx, jsonEncoder, jsonLog);
    OutputStreamAppender<ILoggingEvent> textAppender = appender(ctx, textEncoder, textLog);
    Map<Logger, Level> saved = new LinkedHashMap<>();
    for (String name : List.of("dev.rotor", "rotor")) {
      Logger l = ctx.getLogger(name);
      saved.put(l, l.getLevel());
      l.setLevel(Level.TRACE);
      l.addAppender(jsonAppender);
      l.addAppender(textAppender);
    }

    Map<String, String> outputs = new LinkedHashMap<>();
    Set<PrivateKey> keys = new LinkedHashSet<>();
    String servedSecretBody;
    try {
      servedSecretBody = drive(outputs, keys);
    } finally {
      for (Map.Entry<Logger, Level> e : saved.entrySet()) {
        e.getKey().detachAppender(jsonAppender);
        e.getKey().detachAppender(textAppender);
        e.getKey().setLevel(e.getValue());
      }
      jsonAppender.stop();
      textAppender.stop();
    }
    outputs.put("log (JSON lines)", jsonLog.toString(StandardCharsets.UTF_8));
    outputs.put("log (text)", textLog.toString(StandardCharsets.UTF_8));

    assertThat(keys).as("keys collected from the served and offered identities").hasSizeGreaterThanOrEqualTo(4);
    assertThat(outputs.get("log (JSON lines)")).as("TRACE logging was captured").contains("response sent", "NACK",
        "policy rejected", "identity gate refused");
    // The detector must see a key where one really is: in a secret as Envoy receives it.
    assertThat(leaks(servedSecretBody, keys)).as("the patterns find the key in a real SDS response").isNotEmpty();

    for (Map.Entry<String, String> o : outputs.entrySet()) {
      assertThat(leaks(o.getValue(), keys)).as(o.getKey() + " contains key material").isEmpty();
      assertThat(o.getValue()).as(o.getKey()).doesNotContain("PRIVATE KEY");
    }
  }

  /** Runs the scenario; fills {@code outputs} and {@code keys}; returns one SDS response's bytes as text. */
  private String drive(Map<String, String> outputs, Set<PrivateKey> keys) throws Exception {
    Path policy = dir.resolve("policy.yaml");
    Files.writeString(policy, RunningRotor.policy(9000));
    try (RunningRotor rotor = RunningRotor.start(dir, Optional.of(policy));
        XdsClient envoy = XdsClient.sds(rotor.channel, "frontend");
        XdsClient sidecar = XdsClient.ads(rotor.channel, "backend")) {
      await("the dev CA's identity").atMost(Duration.ofSeconds(10))
          .until(() -> rotor.runtime.gate().status().current().isPresent());
      collect(rotor, keys);

      envoy.subscribe(TypeUrls.SECRET, "default", "ROOTCA", "ALL", RunningRotor.WORKLOAD.toString());
      DiscoveryResponse first = envoy.await();
      String servedSecretBody = first.toByteString().toString(StandardCharsets.ISO_8859_1)
          + first.toByteString().toStringUtf8();
      envoy.ack(first, "default", "ROOTCA", "ALL", RunningRotor.WORKLOAD.toString());
      sidecar.subscribe(TypeUrls.CLUSTER);
      sidecar.ack(sidecar.await(TypeUrls.CLUSTER));
      sidecar.subscribe(TypeUrls.LISTENER);
      sidecar.ack(sidecar.await(TypeUrls.LISTENER));
      sidecar.subscribe(TypeUrls.SECRET, "default");
      sidecar.ack(sidecar.await(TypeUrls.SECRET), "default");

      // Rotation: a new identity, ACKed.
      TestPki pki = TestPki.forTrustDomain("example.org");
      Svid a = pki.issue("/ns/demo/sa/backend");
      keys.add(a.privateKey());
      rotor.runtime.gate().onSnapshot(IdentitySnapshot.of(List.of(a), Map.of(pki.trustDomain(), pki.bundle())));
      envoy.ack(envoy.await(), "default", "ROOTCA", "ALL", RunningRotor.WORKLOAD.toString());
      sidecar.ack(sidecar.await(TypeUrls.SECRET), "default");
      collect(rotor, keys);

      // A refused identity: the key does not belong to the certificate.
      Svid other = pki.issue("/ns/demo/sa/backend");
      Svid mismatched = new Svid(other.spiffeId(), other.chain(), pki.issue("/ns/demo/sa/backend").privateKey(), "");
      keys.add(mismatched.privateKey());
      keys.add(other.privateKey());
      rotor.runtime.gate().onSnapshot(IdentitySnapshot.of(List.of(mismatched), Map.of(pki.trustDomain(), pki.bundle())));
      await("the refusal").atMost(Duration.ofSeconds(10))
          .until(() -> rotor.runtime.gate().status().totalRefusals() == 1);

      // Another rotation, NACKed by both.
      Svid b = pki.issue("/ns/demo/sa/backend");
      keys.add(b.privateKey());
      rotor.runtime.gate().onSnapshot(IdentitySnapshot.of(List.of(b), Map.of(pki.trustDomain(), pki.bundle())));
      DiscoveryResponse rejected = envoy.await();
      envoy.nack(rejected, first.getVersionInfo(), "Failed to load private key (test NACK)", "default", "ROOTCA", "ALL",
          RunningRotor.WORKLOAD.toString());
      DiscoveryResponse rejectedToo = sidecar.await(TypeUrls.SECRET);
      sidecar.nack(rejectedToo, "", "bad secret (test NACK)", "default");
      collect(rotor, keys);

      // Policy errors: invalid YAML, then a valid new version.
      Files.writeString(policy, "version: 1\nworkloads: [\n");
      await("the policy rejection").atMost(Duration.ofSeconds(10)).until(() -> rotor.runtime.policyRejections() >= 1);
      Files.writeString(policy, RunningRotor.policy(9001));
      sidecar.await(TypeUrls.CLUSTER); // the new app port changes the local cluster
      await("status shows the NACKs").atMost(Duration.ofSeconds(10))
          .until(() -> rotor.get("/status").body().contains("test NACK"));

      outputs.put("/metrics", rotor.get("/metrics").body());
      outputs.put("/status", rotor.get("/status").body());
      outputs.put("/readyz", rotor.get("/readyz").body());
      outputs.put("/healthz", rotor.get("/healthz").body());
      ClientStatusResponse csds = ClientStatusDiscoveryServiceGrpc.newBlockingStub(rotor.channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS).fetchClientStatus(ClientStatusRequest.getDefaultInstance());
      assertThat(csds.getConfigCount()).isEqualTo(2);
      outputs.put("CSDS (JSON)", JsonFormat.printer().usingTypeRegistry(dev.rotor.xds.validate.ProtoConstraints.ENVOY_TYPES)
          .print(csds));
      outputs.put("CSDS (bytes)", csds.toByteString().toString(StandardCharsets.ISO_8859_1));
      StringWriter out = new StringWriter();
      RotorMain.run(new PrintWriter(out, true), new PrintWriter(out, true), "status", "--admin", rotor.adminUrl());
      RotorMain.run(new PrintWriter(out, true), new PrintWriter(out, true), "status", "--admin", rotor.adminUrl(), "--json");
      outputs.put("rotor status", out.toString());
      return servedSecretBody;
    }
  }

  /** Adds the keys of the identity the gate serves now. */
  private static void collect(RunningRotor rotor, Set<PrivateKey> keys) {
    rotor.runtime.gate().status().current().ifPresent(s -> s.svids().forEach(v -> keys.add(v.privateKey())));
  }

  /** Which forms of which keys occur in {@code text}. */
  static List<String> leaks(String text, Set<PrivateKey> keys) {
    List<String> found = new ArrayList<>();
    int i = 0;
    for (PrivateKey k : keys) {
      i++;
      byte[] der = k.getEncoded();
      String b64 = Base64.getEncoder().encodeToString(der);
      if (text.contains(b64)) {
        found.add("key " + i + ": base64 of the PKCS#8 DER");
      }
      for (String line : Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der).split("\n")) {
        if (line.length() >= 16 && text.contains(line)) {
          found.add("key " + i + ": a PEM body line");
          break;
        }
      }
      String hex = HexFormat.of().formatHex(der);
      if (text.contains(hex) || text.contains(hex.toUpperCase(java.util.Locale.ROOT))) {
        found.add("key " + i + ": hex of the DER");
      }
      if (text.contains(new String(der, StandardCharsets.ISO_8859_1))) {
        found.add("key " + i + ": the DER bytes");
      }
    }
    return found;
  }

  private static OutputStreamAppender<ILoggingEvent> appender(LoggerContext ctx, Encoder<ILoggingEvent> encoder,
      ByteArrayOutputStream out) {
    encoder.setContext(ctx);
    encoder.start();
    OutputStreamAppender<ILoggingEvent> a = new OutputStreamAppender<>();
    a.setContext(ctx);
    a.setEncoder(encoder);
    a.setOutputStream(out);
    a.start();
    return a;
  }
}
