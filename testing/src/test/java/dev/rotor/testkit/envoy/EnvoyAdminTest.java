package dev.rotor.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpServer;
import dev.rotor.testkit.envoy.EnvoyAdmin.Cert;
import io.envoyproxy.envoy.admin.v3.Certificate;
import io.envoyproxy.envoy.admin.v3.CertificateDetails;
import io.envoyproxy.envoy.admin.v3.Certificates;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.SecretsConfigDump;
import io.envoyproxy.envoy.admin.v3.SubjectAlternateName;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link EnvoyAdmin} against admin responses in the shape Envoy gives them (the proto3 JSON of
 * {@code envoy.admin.v3} messages), served by a local HTTP server: the parsing, apart from a
 * running Envoy (EnvoyProcessTest and the real-Envoy tests use it against real ones).
 */
class EnvoyAdminTest {

  private static final String SPIFFE_ID = "spiffe://example.org/ns/demo/sa/backend";
  private static final BigInteger SERIAL = new BigInteger("0a1b2c3d4e5f60718293a4b5c6d7e8f9", 16);
  private static final String SECRETS_DUMP = "/config_dump?resource=dynamic_active_secrets";

  private final Map<String, String> responses = new ConcurrentHashMap<>();
  private HttpServer server;
  private EnvoyAdmin admin;

  @BeforeEach
  void startServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", exchange -> {
      String body = responses.get(exchange.getRequestURI().toString());
      byte[] bytes = (body == null ? "not found" : body).getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(body == null ? 404 : 200, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    });
    server.start();
    admin = new EnvoyAdmin(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/"));
  }

  @AfterEach
  void stopServer() {
    server.stop(0);
  }

  @Test
  void activeSecretLeaf_secretInDump_readsSerialAndSpiffeIdFromThePem() throws Exception {
    responses.put(SECRETS_DUMP, secretsDump("default", pem(certificate())));

    assertThat(admin.activeSecretLeaf("default")).contains(new Cert(SERIAL, List.of(SPIFFE_ID)));
    assertThat(admin.activeSecretLeaf("ROOTCA")).isEmpty();
  }

  @Test
  void activeSecretLeaf_noSecretsYet_isEmpty() throws Exception {
    responses.put(SECRETS_DUMP, "{\"configs\":[]}");

    assertThat(admin.activeSecretLeaf("default")).isEmpty();
  }

  @Test
  void certs_leafOfEachChain_hexSerialAndUriSans() throws Exception {
    Certificates certs = Certificates.newBuilder()
        .addCertificates(Certificate.newBuilder()
            .addCaCert(CertificateDetails.newBuilder().setSerialNumber("1"))
            .addCertChain(CertificateDetails.newBuilder()
                .setPath("<inline>")
                .setSerialNumber(SERIAL.toString(16))
                .addSubjectAltNames(SubjectAlternateName.newBuilder().setUri(SPIFFE_ID))
                .addSubjectAltNames(SubjectAlternateName.newBuilder().setDns("backend.demo"))))
        .addCertificates(Certificate.newBuilder()
            .addCaCert(CertificateDetails.newBuilder().setSerialNumber("2")))
        .build();
    responses.put("/certs", JsonFormat.printer().print(certs));

    assertThat(admin.certs()).containsExactly(new Cert(SERIAL, List.of(SPIFFE_ID)));
  }

  @Test
  void adminErrorStatus_isAnIoErrorNamingThePath() {
    assertThatThrownBy(() -> admin.certs()).isInstanceOf(IOException.class).hasMessage("GET /certs: HTTP 404");
  }

  private static String secretsDump(String name, String pem) throws Exception {
    Secret secret = Secret.newBuilder()
        .setName(name)
        .setTlsCertificate(TlsCertificate.newBuilder()
            .setCertificateChain(DataSource.newBuilder().setInlineBytes(ByteString.copyFromUtf8(pem)))
            .setPrivateKey(DataSource.newBuilder().setInlineBytes(ByteString.copyFromUtf8("[redacted]"))))
        .build();
    ConfigDump dump = ConfigDump.newBuilder()
        .addConfigs(Any.pack(SecretsConfigDump.DynamicSecret.newBuilder()
            .setName(name)
            .setVersionInfo("v1")
            .setSecret(Any.pack(secret))
            .build()))
        .build();
    TypeRegistry types = TypeRegistry.newBuilder()
        .add(SecretsConfigDump.getDescriptor())
        .add(Secret.getDescriptor())
        .build();
    return JsonFormat.printer().usingTypeRegistry(types).print(dump);
  }

  private static X509Certificate certificate() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(256);
    KeyPair key = generator.generateKeyPair();
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
        new X500Name("O=test"), SERIAL, Date.from(now.minus(1, ChronoUnit.MINUTES)),
        Date.from(now.plus(1, ChronoUnit.HOURS)), new X500Name("O=test"), key.getPublic());
    builder.addExtension(Extension.subjectAlternativeName, true,
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, SPIFFE_ID)));
    return new JcaX509CertificateConverter().getCertificate(
        builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
  }

  private static String pem(X509Certificate certificate) throws IOException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(certificate);
    }
    return out.toString();
  }
}
