package dev.rotor.testkit.envoy;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
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
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Reads what an Envoy holds through its admin API: {@code /certs}, {@code /config_dump}, {@code
 * /stats}, {@code /server_info}, {@code /ready}, and sets log levels. Envoy's output may be newer
 * than the protos here, so unknown fields are ignored. Never returns or prints key material;
 * Envoy redacts private keys in its dump anyway.
 */
public final class EnvoyAdmin {

  private static final TypeRegistry DUMP_TYPES = TypeRegistry.newBuilder()
      .add(SecretsConfigDump.getDescriptor())
      .add(Secret.getDescriptor())
      // Validation contexts with Envoy's SPIFFE validator carry its config as an Any.
      .add(SPIFFECertValidatorConfig.getDescriptor())
      .build();
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

  /** A certificate as tests need it: serial and URI SANs. */
  public record Cert(BigInteger serial, List<String> uriSans) {
    public Cert {
      requireNonNull(serial, "serial");
      uriSans = List.copyOf(uriSans);
    }

    /** The serial as Envoy and openssl print it: lower-case hex, no leading zeros. */
    public String serialHex() {
      return serial.toString(16);
    }

    @Override
    public String toString() {
      return "serial " + serialHex() + " " + uriSans;
    }
  }

  /**
   * One dynamic (SDS) secret Envoy holds: its name, the {@code version_info} of the response that
   * brought it, and the leaf certificate of its chain (empty for a validation context).
   */
  public record ActiveSecret(String name, String version, Optional<X509Certificate> certificate) {
    public ActiveSecret {
      requireNonNull(name, "name");
      requireNonNull(version, "version");
      requireNonNull(certificate, "certificate");
    }

    /** The leaf's serial and URI SANs. */
    public Optional<Cert> leaf() {
      return certificate.map(EnvoyAdmin::cert);
    }
  }

  /** A listener or cluster Envoy got over xDS, with the version of the response that brought it. */
  public record Versioned(String name, String version) {}

  private final URI base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(REQUEST_TIMEOUT).build();

  public EnvoyAdmin(URI base) {
    this.base = requireNonNull(base, "base");
  }

  /** E.g. {@code http://127.0.0.1:40123/}. */
  public URI base() {
    return base;
  }

  /** {@code host:port} of the admin API, as the documentation's commands write it. */
  public String hostPort() {
    return base.getHost() + ":" + base.getPort();
  }

  /** {@code /ready} answers 200 {@code LIVE}. */
  public boolean isLive() throws IOException, InterruptedException {
    HttpResponse<String> response = send(HttpRequest.newBuilder(base.resolve("/ready")).GET());
    return response.statusCode() == 200 && response.body().strip().equals("LIVE");
  }

  /** {@code state} of {@code /server_info}: {@code LIVE}, {@code PRE_INITIALIZING}, {@code INITIALIZING}, ... */
  public String serverState() throws IOException, InterruptedException {
    return JsonParser.parseString(get("/server_info")).getAsJsonObject().get("state").getAsString();
  }

  /** The leaf certificates of every TLS context ({@code /certs}, {@code cert_chain[0]}). */
  public List<Cert> certs() throws IOException, InterruptedException {
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

  /** Every dynamic (SDS) secret Envoy has received and holds. */
  public List<ActiveSecret> activeSecrets() throws IOException, InterruptedException {
    ConfigDump.Builder dump = ConfigDump.newBuilder();
    JsonFormat.parser().ignoringUnknownFields().usingTypeRegistry(DUMP_TYPES)
        .merge(get("/config_dump?resource=dynamic_active_secrets"), dump);
    List<ActiveSecret> secrets = new ArrayList<>();
    for (Any config : dump.getConfigsList()) {
      SecretsConfigDump.DynamicSecret secret = config.unpack(SecretsConfigDump.DynamicSecret.class);
      if (!secret.hasSecret()) {
        continue;
      }
      Secret content = secret.getSecret().unpack(Secret.class);
      Optional<X509Certificate> leaf = content.hasTlsCertificate()
          ? Optional.of(leafCertificate(content.getTlsCertificate().getCertificateChain()))
          : Optional.empty();
      secrets.add(new ActiveSecret(secret.getName(), secret.getVersionInfo(), leaf));
    }
    return secrets;
  }

  /** The active secret {@code name}, or empty when Envoy has not received it. */
  public Optional<ActiveSecret> activeSecret(String name) throws IOException, InterruptedException {
    return activeSecrets().stream().filter(s -> s.name().equals(name)).findFirst();
  }

  /**
   * The leaf certificate's serial and URI SANs of the active TLS-certificate secret {@code name},
   * or empty when Envoy has no such secret yet.
   */
  public Optional<Cert> activeSecretLeaf(String name) throws IOException, InterruptedException {
    return activeSecret(name).flatMap(ActiveSecret::leaf);
  }

  /** Names of the secrets Envoy asked for and has not received ({@code dynamic_warming_secrets}). */
  public List<String> warmingSecretNames() throws IOException, InterruptedException {
    return names(configs("/config_dump?resource=dynamic_warming_secrets"), "name");
  }

  /** Listeners in service (active state), by name, with the version that brought each. */
  public List<Versioned> activeListeners() throws IOException, InterruptedException {
    List<Versioned> out = new ArrayList<>();
    for (JsonElement e : configs("/config_dump?resource=dynamic_listeners")) {
      JsonObject listener = e.getAsJsonObject();
      if (listener.has("active_state")) {
        out.add(new Versioned(listener.get("name").getAsString(),
            string(listener.getAsJsonObject("active_state"), "version_info")));
      }
    }
    return out;
  }

  /** Names of listeners that are warming (waiting for a secret, a cluster, ...). */
  public List<String> warmingListenerNames() throws IOException, InterruptedException {
    List<String> out = new ArrayList<>();
    for (JsonElement e : configs("/config_dump?resource=dynamic_listeners")) {
      JsonObject listener = e.getAsJsonObject();
      if (listener.has("warming_state")) {
        out.add(listener.get("name").getAsString());
      }
    }
    return out;
  }

  /** Clusters Envoy got over CDS and uses, with the version that brought each. */
  public List<Versioned> activeClusters() throws IOException, InterruptedException {
    List<Versioned> out = new ArrayList<>();
    for (JsonElement e : configs("/config_dump?resource=dynamic_active_clusters")) {
      JsonObject cluster = e.getAsJsonObject();
      out.add(new Versioned(cluster.getAsJsonObject("cluster").get("name").getAsString(), string(cluster, "version_info")));
    }
    return out;
  }

  /**
   * Counters and gauges ({@code /stats}, text form, histograms left out), by name, sorted. With a
   * {@code filter}, only stats whose name matches that regular expression (Envoy applies it).
   */
  public Map<String, Long> stats(String filter) throws IOException, InterruptedException {
    String path = filter == null ? "/stats" : "/stats?filter=" + URLEncoder.encode(filter, StandardCharsets.UTF_8);
    Map<String, Long> stats = new TreeMap<>();
    for (String line : get(path).split("\n")) {
      int colon = line.lastIndexOf(": ");
      if (colon <= 0) {
        continue;
      }
      try {
        stats.put(line.substring(0, colon), Long.parseLong(line.substring(colon + 2).strip()));
      } catch (NumberFormatException histogram) {
        // "P0(...)" summaries of histograms: not a counter or gauge.
      }
    }
    return stats;
  }

  /** The counter or gauge {@code name}; fails if Envoy has no such stat (a typo must not read as 0). */
  public long stat(String name) throws IOException, InterruptedException {
    Long value = stats("^" + java.util.regex.Pattern.quote(name) + "$").get(name);
    if (value == null) {
      throw new IOException("Envoy has no stat named \"" + name + "\"");
    }
    return value;
  }

  /** The sum of every stat whose name ends with {@code suffix}, e.g. {@code .update_rejected}. */
  public long sumOfStatsEndingWith(String suffix) throws IOException, InterruptedException {
    return stats(java.util.regex.Pattern.quote(suffix) + "$").values().stream().mapToLong(Long::longValue).sum();
  }

  /**
   * The cumulative value of quantile {@code quantile} (one of Envoy's supported quantiles, e.g. 100
   * for the largest) of histogram {@code name}, e.g. {@code cluster.x.upstream_cx_length_ms}; empty
   * while it has no samples. Envoy merges histograms at its stats flush (every 5 s by default), so
   * samples of the last few seconds may not be in it yet.
   */
  public Optional<Double> histogramQuantile(String name, double quantile) throws IOException, InterruptedException {
    String path = "/stats?format=json&filter=" + URLEncoder.encode("^" + java.util.regex.Pattern.quote(name) + "$",
        StandardCharsets.UTF_8);
    for (JsonElement stat : JsonParser.parseString(get(path)).getAsJsonObject().getAsJsonArray("stats")) {
      JsonObject histograms = stat.getAsJsonObject().getAsJsonObject("histograms");
      if (histograms == null) {
        continue;
      }
      JsonArray supported = histograms.getAsJsonArray("supported_quantiles");
      int index = -1;
      for (int i = 0; i < supported.size(); i++) {
        if (supported.get(i).getAsDouble() == quantile) {
          index = i;
        }
      }
      if (index < 0) {
        throw new IOException("Envoy computes no quantile " + quantile + " (it has " + supported + ")");
      }
      for (JsonElement computed : histograms.getAsJsonArray("computed_quantiles")) {
        JsonObject h = computed.getAsJsonObject();
        if (h.get("name").getAsString().equals(name)) {
          JsonElement value = h.getAsJsonArray("values").get(index).getAsJsonObject().get("cumulative");
          return value == null || value.isJsonNull() ? Optional.empty() : Optional.of(value.getAsDouble());
        }
      }
    }
    throw new IOException("Envoy has no histogram named \"" + name + "\"");
  }

  /** Sets one logger's level, e.g. {@code rbac} {@code debug} ({@code POST /logging?rbac=debug}). */
  public void setLogLevel(String component, String level) throws IOException, InterruptedException {
    post("/logging?" + component + "=" + level);
  }

  /** GET {@code pathAndQuery}; fails on any status but 200. */
  public String get(String pathAndQuery) throws IOException, InterruptedException {
    return ok("GET", pathAndQuery, send(HttpRequest.newBuilder(base.resolve(pathAndQuery)).GET()));
  }

  /** POST {@code pathAndQuery} with an empty body; fails on any status but 200. */
  public String post(String pathAndQuery) throws IOException, InterruptedException {
    return ok("POST", pathAndQuery,
        send(HttpRequest.newBuilder(base.resolve(pathAndQuery)).POST(HttpRequest.BodyPublishers.noBody())));
  }

  /** The {@code configs} of {@code /config_dump?resource=...}: one JSON object per resource. */
  private JsonArray configs(String pathAndQuery) throws IOException, InterruptedException {
    JsonObject dump = JsonParser.parseString(get(pathAndQuery)).getAsJsonObject();
    return dump.has("configs") ? dump.getAsJsonArray("configs") : new JsonArray();
  }

  private static List<String> names(JsonArray configs, String field) {
    List<String> out = new ArrayList<>();
    configs.forEach(e -> out.add(e.getAsJsonObject().get(field).getAsString()));
    return out;
  }

  private static String string(JsonObject o, String field) {
    return o.has(field) ? o.get(field).getAsString() : "";
  }

  private static X509Certificate leafCertificate(DataSource chain) throws InvalidProtocolBufferException {
    byte[] pem = switch (chain.getSpecifierCase()) {
      case INLINE_BYTES -> chain.getInlineBytes().toByteArray();
      case INLINE_STRING -> chain.getInlineString().getBytes(StandardCharsets.US_ASCII);
      default -> throw new InvalidProtocolBufferException(
          "certificate_chain is " + chain.getSpecifierCase() + " (expected: inline bytes or string from SDS)");
    };
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem));
    } catch (CertificateException e) {
      throw new InvalidProtocolBufferException("certificate_chain is not a PEM certificate: " + e.getMessage());
    }
  }

  private static Cert cert(X509Certificate leaf) {
    List<String> uris = new ArrayList<>();
    try {
      if (leaf.getSubjectAlternativeNames() != null) {
        for (List<?> san : leaf.getSubjectAlternativeNames()) {
          if (Integer.valueOf(6).equals(san.get(0))) { // 6 = uniformResourceIdentifier
            uris.add((String) san.get(1));
          }
        }
      }
    } catch (java.security.cert.CertificateParsingException e) {
      throw new IllegalStateException("unreadable subject alternative names in certificate " + leaf.getSerialNumber(), e);
    }
    return new Cert(leaf.getSerialNumber(), uris);
  }

  private HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
    return http.send(request.timeout(REQUEST_TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String ok(String method, String pathAndQuery, HttpResponse<String> response) throws IOException {
    if (response.statusCode() != 200) {
      throw new IOException(method + " " + pathAndQuery + ": HTTP " + response.statusCode());
    }
    return response.body();
  }
}
