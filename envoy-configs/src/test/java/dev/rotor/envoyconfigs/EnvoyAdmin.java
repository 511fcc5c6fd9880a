package dev.rotor.envoyconfigs;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.admin.v3.Certificate;
import io.envoyproxy.envoy.admin.v3.CertificateDetails;
import io.envoyproxy.envoy.admin.v3.Certificates;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.SecretsConfigDump;
import io.envoyproxy.envoy.admin.v3.SubjectAlternateName;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads what an Envoy holds through its admin API: {@code /certs} and {@code
 * /config_dump?resource=dynamic_active_secrets}. The output is Envoy's, possibly newer than the
 * protos here, so unknown fields are ignored (unlike the bootstrap parse). Never returns or
 * prints key material; Envoy redacts private keys in its dump anyway.
 */
final class EnvoyAdmin {

  private static final TypeRegistry DUMP_TYPES = TypeRegistry.newBuilder()
      .add(SecretsConfigDump.getDescriptor())
      .add(Secret.getDescriptor())
      .build();
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

  /** A certificate as the test needs it: serial and URI SANs. */
  record Cert(BigInteger serial, List<String> uriSans) {
    Cert {
      requireNonNull(serial, "serial");
      uriSans = List.copyOf(uriSans);
    }

    @Override
    public String toString() {
      return "serial " + serial.toString(16) + " " + uriSans;
    }
  }

  private final URI base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(REQUEST_TIMEOUT).build();

  EnvoyAdmin(URI base) {
    this.base = requireNonNull(base, "base");
  }

  /** The leaf certificates of every TLS context ({@code /certs}, {@code cert_chain[0]}). */
  List<Cert> certs() throws IOException, InterruptedException {
    Certificates.Builder certs = Certificates.newBuilder();
    JsonFormat.parser().ignoringUnknownFields().merge(get("/certs"), certs);
    List<Cert> leaves = new ArrayList<>();
    for (Certificate c : certs.getCertificatesList()) {
      if (c.getCertChainCount() == 0) {
        continue;
      }
      CertificateDetails leaf = c.getCertChain(0);
      leaves.add(new Cert(new BigInteger(leaf.getSerialNumber(), 16),
          leaf.getSubjectAltNamesList().stream()
              .filter(SubjectAlternateName::hasUri)
              .map(SubjectAlternateName::getUri)
              .toList()));
    }
    return leaves;
  }

  /**
   * The leaf certificate of the dynamic (SDS) secret {@code name} as Envoy holds it, or empty
   * when Envoy has no such active secret yet.
   */
  Optional<Cert> activeSecretLeaf(String name) throws IOException, InterruptedException {
    ConfigDump.Builder dump = ConfigDump.newBuilder();
    JsonFormat.parser().ignoringUnknownFields().usingTypeRegistry(DUMP_TYPES)
        .merge(get("/config_dump?resource=dynamic_active_secrets"), dump);
    for (Any config : dump.getConfigsList()) {
      SecretsConfigDump.DynamicSecret secret = config.unpack(SecretsConfigDump.DynamicSecret.class);
      if (!secret.getName().equals(name) || !secret.hasSecret()) {
        continue;
      }
      Secret content = secret.getSecret().unpack(Secret.class);
      if (!content.hasTlsCertificate()) {
        continue;
      }
      return Optional.of(leafOf(content.getTlsCertificate().getCertificateChain()));
    }
    return Optional.empty();
  }

  private static Cert leafOf(DataSource chain) throws InvalidProtocolBufferException {
    byte[] pem = switch (chain.getSpecifierCase()) {
      case INLINE_BYTES -> chain.getInlineBytes().toByteArray();
      case INLINE_STRING -> chain.getInlineString().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      default -> throw new InvalidProtocolBufferException(
          "certificate_chain is " + chain.getSpecifierCase() + " (expected: inline bytes or string from SDS)");
    };
    try {
      X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(pem));
      List<String> uris = new ArrayList<>();
      if (leaf.getSubjectAlternativeNames() != null) {
        for (List<?> san : leaf.getSubjectAlternativeNames()) {
          if (Integer.valueOf(6).equals(san.get(0))) { // 6 = uniformResourceIdentifier
            uris.add((String) san.get(1));
          }
        }
      }
      return new Cert(leaf.getSerialNumber(), uris);
    } catch (CertificateException e) {
      throw new InvalidProtocolBufferException("certificate_chain is not a PEM certificate: " + e.getMessage());
    }
  }

  private String get(String pathAndQuery) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(REQUEST_TIMEOUT).GET().build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("GET " + pathAndQuery + ": HTTP " + response.statusCode());
    }
    return response.body();
  }
}
