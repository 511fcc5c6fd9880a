package dev.rotor.testkit.demo;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.rotor.testkit.envoy.EnvoyAdmin;
import dev.rotor.testkit.envoy.EnvoyAdmin.ActiveSecret;
import dev.rotor.testkit.envoy.EnvoyAdmin.Versioned;
import dev.rotor.testkit.envoy.EnvoyProcess;
import dev.rotor.testkit.rotor.PushLog;
import dev.rotor.testkit.rotor.RotorProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * Whether the three accounts of what an Envoy holds agree: Rotor's push log (the last response
 * that carried each resource), the Envoy's own {@code /config_dump} (and {@code /certs}), and
 * Rotor's {@code /status} (what that Envoy ACKed). For the {@code default} secret: the response's
 * {@code version_info} is the secret's version in Envoy, the resource's own version is what
 * {@code /status} shows ACKed, and the serial is the same in all of them and in {@code /certs};
 * for listeners and clusters, the names and versions of the last LDS and CDS responses.
 *
 * <p>The three are read one after another while certificates rotate every few seconds, so a
 * rotation can fall between two reads: {@link #await} reads again until they agree, within a bound.
 */
public final class ConfigAgreement {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private ConfigAgreement() {}

  /**
   * Reads all three until they agree for {@code node}, at most {@code atMost}; returns the
   * disagreements of the last reading (empty when they agreed) and what agreed.
   */
  public static Result await(RotorProcess rotor, EnvoyProcess envoy, String node, Duration atMost) {
    AtomicReference<Result> last = new AtomicReference<>();
    try {
      Awaitility.await("the push log, " + envoy.name() + "'s config_dump and Rotor's /status to agree on " + node)
          .atMost(atMost)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> {
            last.set(check(rotor, envoy, node));
            return last.get().disagreements().isEmpty();
          });
    } catch (ConditionTimeoutException e) {
      // The last reading's disagreements say what did not agree.
    }
    return last.get();
  }

  /** What one reading found: disagreements, and the facts that were compared. */
  public record Result(List<String> disagreements, List<String> agreed) {}

  static Result check(RotorProcess rotor, EnvoyProcess envoy, String node) {
    List<String> problems = new ArrayList<>();
    List<String> agreed = new ArrayList<>();
    try {
      List<PushLog.Response> pushes = PushLog.responses(rotor.stdoutLines()).stream()
          .filter(r -> r.node().equals(node)).toList();
      JsonObject status = envoyStatus(rotor, node, problems);
      EnvoyAdmin admin = envoy.admin();

      Optional<PushLog.Response> secret = last(pushes, "sds", "default");
      Optional<ActiveSecret> inEnvoy = admin.activeSecret("default");
      if (secret.isEmpty() || inEnvoy.isEmpty() || status == null) {
        problems.add(node + ": default missing from " + (secret.isEmpty() ? "the push log " : "")
            + (inEnvoy.isEmpty() ? "Envoy's config_dump " : "") + (status == null ? "/status" : ""));
      } else {
        String pushedSerial = secret.get().serials().isEmpty() ? "(none)" : secret.get().serials().get(0);
        String envoySerial = inEnvoy.get().leaf().map(EnvoyAdmin.Cert::serialHex).orElse("(none)");
        Optional<JsonObject> statusDefault = resource(status, "sds", "default");
        String statusSerial = statusDefault.map(r -> string(r, "serial")).orElse("(none)");
        String statusVersion = statusDefault.map(r -> string(r, "acked_version")).orElse("(none)");
        String pushedVersion = secret.get().versionOf("default").orElse("(none)");
        boolean inCerts = admin.certs().stream().anyMatch(c -> c.serialHex().equals(pushedSerial));
        expect(problems, node + " default serial: push log " + pushedSerial + ", config_dump " + envoySerial
            + ", /status " + statusSerial + ", in /certs: " + inCerts,
            pushedSerial.equals(envoySerial) && pushedSerial.equals(statusSerial) && inCerts);
        expect(problems, node + " default version: push log response " + secret.get().version() + " = config_dump "
            + inEnvoy.get().version() + "; push log resource " + pushedVersion + " = /status ACKed " + statusVersion,
            secret.get().version().equals(inEnvoy.get().version()) && pushedVersion.equals(statusVersion));
        agreed.add(node + " default: serial " + pushedSerial + ", version " + secret.get().version());
      }
      compareTyped(problems, agreed, node, "lds", pushes, admin.activeListeners(), status);
      compareTyped(problems, agreed, node, "cds", pushes, admin.activeClusters(), status);
    } catch (IOException | RuntimeException e) {
      problems.add(node + ": cannot read: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      problems.add(node + ": interrupted");
    }
    return new Result(problems, agreed);
  }

  private static void compareTyped(List<String> problems, List<String> agreed, String node, String type,
      List<PushLog.Response> pushes, List<Versioned> inEnvoy, JsonObject status) {
    Optional<PushLog.Response> last = pushes.stream().filter(r -> r.type().equals(type)).reduce((a, b) -> b);
    if (last.isEmpty()) {
      problems.add(node + " " + type + ": no response in the push log");
      return;
    }
    List<String> envoyNames = inEnvoy.stream().map(Versioned::name).sorted().toList();
    boolean versions = inEnvoy.stream().allMatch(v -> v.version().equals(last.get().version()));
    String acked = status == null ? "(none)" : typeStatus(status, type).map(t -> string(t, "acked_version")).orElse("(none)");
    expect(problems, node + " " + type + ": push log " + last.get().resources() + " at " + last.get().version()
        + ", Envoy " + inEnvoy + ", /status ACKed " + acked,
        envoyNames.equals(last.get().resources().stream().sorted().toList()) && versions
            && acked.equals(last.get().version()));
    agreed.add(node + " " + type + ": " + last.get().resources() + " at " + last.get().version());
  }

  private static Optional<PushLog.Response> last(List<PushLog.Response> pushes, String type, String resource) {
    return pushes.stream().filter(r -> r.type().equals(type) && r.resources().contains(resource)).reduce((a, b) -> b);
  }

  /** The {@code envoys[]} entry of {@code /status} for {@code node}, or null (and a problem) when there is none. */
  private static JsonObject envoyStatus(RotorProcess rotor, String node, List<String> problems)
      throws IOException, InterruptedException {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(rotor.adminUrl() + "/status"))
        .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      problems.add(node + ": /status answered HTTP " + response.statusCode());
      return null;
    }
    for (JsonElement e : JsonParser.parseString(response.body()).getAsJsonObject().getAsJsonArray("envoys")) {
      if (node.equals(string(e.getAsJsonObject(), "node_id"))) {
        return e.getAsJsonObject();
      }
    }
    problems.add(node + ": /status shows no Envoy with node id " + node);
    return null;
  }

  private static Optional<JsonObject> typeStatus(JsonObject envoy, String type) {
    for (JsonElement stream : envoy.getAsJsonArray("streams")) {
      JsonObject types = stream.getAsJsonObject().getAsJsonObject("types");
      if (types != null && types.has(type)) {
        return Optional.of(types.getAsJsonObject(type));
      }
    }
    return Optional.empty();
  }

  private static Optional<JsonObject> resource(JsonObject envoy, String type, String name) {
    return typeStatus(envoy, type).flatMap(t -> {
      JsonArray resources = t.getAsJsonArray("resources");
      for (JsonElement r : resources) {
        if (name.equals(string(r.getAsJsonObject(), "name"))) {
          return Optional.of(r.getAsJsonObject());
        }
      }
      return Optional.empty();
    });
  }

  private static String string(JsonObject o, String field) {
    JsonElement e = o.get(field);
    return e == null || e.isJsonNull() ? "(none)" : e.getAsString();
  }

  private static void expect(List<String> problems, String what, boolean holds) {
    if (!holds) {
      problems.add(what);
    }
  }
}
