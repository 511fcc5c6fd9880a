package dev.rotor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rotor status}: one row per connected Envoy, read from a running Rotor's {@code /status},
 * in the spirit of {@code istioctl proxy-status}.
 */
@Command(name = "status", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Show every Envoy connected to a running Rotor, and whether it took the newest config.",
        "",
        "One row per Envoy: its node id, peer, the identity (SPIFFE ID) it runs and when that certificate"
            + " expires, and per type (SDS, LDS, CDS) one of:",
        "  SYNCED    the newest response was ACKed",
        "  STALE     a response was sent and its ACK has not arrived",
        "  NOT_SENT  nothing was sent, or a requested resource is not served",
        "  NACKED    the Envoy rejected the newest response (the error follows)",
        "  -         the Envoy does not subscribe to this type",
        "",
        "Reads GET <admin>/status; Rotor's admin endpoint is on loopback by default."},
    footer = {"", "Exit status: 0 ok, 2 when Rotor cannot be reached or --admin is malformed, 1 on a bad"
        + " answer."})
final class StatusCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(names = "--admin", paramLabel = "URL", defaultValue = "http://127.0.0.1:9902",
      description = "Rotor's admin endpoint (rotor serve --admin-address). Default: ${DEFAULT-VALUE}.")
  String admin;

  @Option(names = "--json", description = "Print the rows as a JSON array, for scripts.")
  boolean json;

  @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class, defaultValue = "5s",
      description = "How long to wait for Rotor (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  /** One table row. */
  record Row(String node, String peer, String identity, Long expiresInSeconds, List<Sync> sync) {}

  record Sync(String type, String state, String error) {}

  @Override
  public Integer call() throws Exception {
    URI uri = statusUri();
    JsonNode status = fetch(uri);
    List<Row> rows = rows(status);
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson(rows)));
    } else {
      out.print(table(rows));
    }
    out.flush();
    return 0;
  }

  private URI statusUri() {
    String base = admin.endsWith("/") ? admin.substring(0, admin.length() - 1) : admin;
    URI uri;
    try {
      uri = URI.create(base + "/status");
    } catch (IllegalArgumentException e) {
      throw UsageException.of("--admin", "\"" + admin + "\" (expected an http:// URL such as http://127.0.0.1:9902)");
    }
    if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
      throw UsageException.of("--admin", "\"" + admin + "\" (expected an http:// URL such as http://127.0.0.1:9902)");
    }
    return uri;
  }

  private JsonNode fetch(URI uri) throws InterruptedException {
    HttpClient client = HttpClient.newBuilder().connectTimeout(timeout).build();
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout).GET().build();
    HttpResponse<String> response;
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw UsageException.of("--admin", "cannot reach Rotor at " + admin + " (connection refused): is `rotor serve`"
          + " running, with its admin endpoint (--admin-address) at this address?");
    } catch (HttpTimeoutException e) {
      throw UsageException.of("--admin", "Rotor at " + admin + " did not answer within " + Durations.format(timeout));
    } catch (IOException e) {
      throw UsageException.of("--admin", "cannot reach Rotor at " + admin + " (" + e + ")");
    }
    if (response.statusCode() != 200) {
      throw new BadAnswer(uri + " answered HTTP " + response.statusCode() + " (expected 200): is " + admin
          + " a Rotor admin endpoint?");
    }
    try {
      JsonNode node = JSON.readTree(response.body());
      if (!node.path("envoys").isArray()) {
        throw new BadAnswer(uri + " answered JSON without \"envoys\": is " + admin + " a Rotor admin endpoint?");
      }
      return node;
    } catch (IOException e) {
      throw new BadAnswer(uri + " did not answer JSON: is " + admin + " a Rotor admin endpoint?");
    }
  }

  static List<Row> rows(JsonNode status) {
    List<Row> rows = new ArrayList<>();
    for (JsonNode e : status.path("envoys")) {
      List<String> ids = new ArrayList<>();
      Long expires = null;
      for (JsonNode i : e.path("identities")) {
        String id = i.path("spiffe_id").asText();
        if (!ids.contains(id)) {
          ids.add(id);
        }
        long left = i.path("expires_in_seconds").asLong();
        expires = expires == null ? left : Math.min(expires, left);
      }
      List<Sync> sync = new ArrayList<>();
      for (String type : List.of("sds", "lds", "cds")) {
        JsonNode t = e.path("sync").path(type);
        if (t.isMissingNode() || t.isNull()) {
          sync.add(new Sync(type, "-", null));
        } else {
          sync.add(new Sync(type, t.path("state").asText(), t.hasNonNull("error") ? t.get("error").asText() : null));
        }
      }
      rows.add(new Row(e.path("node_id").asText(), e.path("peer").asText(), String.join(",", ids), expires, sync));
    }
    return rows;
  }

  static ArrayNode toJson(List<Row> rows) {
    ArrayNode a = JSON.createArrayNode();
    for (Row r : rows) {
      ObjectNode o = a.addObject();
      o.put("node", r.node());
      o.put("peer", r.peer());
      o.put("identity", r.identity().isEmpty() ? null : r.identity());
      if (r.expiresInSeconds() == null) {
        o.putNull("expires_in_seconds");
      } else {
        o.put("expires_in_seconds", r.expiresInSeconds());
      }
      for (Sync s : r.sync()) {
        ObjectNode t = o.putObject(s.type());
        t.put("state", s.state());
        t.put("error", s.error());
      }
    }
    return a;
  }

  static String table(List<Row> rows) {
    if (rows.isEmpty()) {
      return "No Envoy is connected.\n";
    }
    List<String[]> cells = new ArrayList<>();
    cells.add(new String[] {"NODE", "PEER", "IDENTITY", "EXPIRES IN", "SDS", "LDS", "CDS"});
    for (Row r : rows) {
      String[] c = new String[7];
      c[0] = r.node().isEmpty() ? "(no node id)" : r.node();
      c[1] = r.peer();
      c[2] = r.identity().isEmpty() ? "-" : r.identity();
      c[3] = r.expiresInSeconds() == null ? "-" : expiresIn(r.expiresInSeconds());
      for (int i = 0; i < 3; i++) {
        Sync s = r.sync().get(i);
        c[4 + i] = s.error() == null || !s.state().equals("NACKED") ? s.state() : s.state() + ": " + oneLine(s.error());
      }
      cells.add(c);
    }
    int[] width = new int[7];
    for (String[] c : cells) {
      for (int i = 0; i < c.length; i++) {
        width[i] = Math.max(width[i], Math.min(c[i].length(), i >= 4 ? 60 : 80));
      }
    }
    StringBuilder sb = new StringBuilder();
    for (String[] c : cells) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < c.length; i++) {
        String v = c[i];
        if (i < c.length - 1) {
          line.append(String.format("%-" + width[i] + "s", v)).append("  ");
        } else {
          line.append(v);
        }
      }
      sb.append(line.toString().stripTrailing()).append('\n');
    }
    return sb.toString();
  }

  static String expiresIn(long seconds) {
    if (seconds <= 0) {
      return "EXPIRED";
    }
    long d = seconds / 86400;
    long h = seconds % 86400 / 3600;
    long m = seconds % 3600 / 60;
    long s = seconds % 60;
    if (d > 0) {
      return d + "d" + h + "h";
    }
    if (h > 0) {
      return h + "h" + m + "m";
    }
    return m > 0 ? m + "m" + s + "s" : s + "s";
  }

  private static String oneLine(String s) {
    String flat = s.replaceAll("\\s+", " ").strip();
    return flat.length() <= 120 ? flat : flat.substring(0, 117) + "...";
  }

  /** Rotor answered, but not with a status document: exit 1. */
  static final class BadAnswer extends RuntimeException {
    BadAnswer(String message) {
      super(message);
    }
  }
}
