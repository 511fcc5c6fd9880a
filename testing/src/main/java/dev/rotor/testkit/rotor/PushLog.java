package dev.rotor.testkit.rotor;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The responses in a Rotor's push log (logger {@code rotor.push} on its JSON stdout), as an
 * operator reads them: which node got which resources, at which version, carrying which
 * certificate serials, when.
 */
public final class PushLog {
  /**
   * One {@code "event":"response"} line: the response's {@code version_info}, the resources it
   * carried with each one's own version, and the serials of the certificates among them.
   * In node mode, {@code attestedId} is the SPIFFE ID SPIRE attested for the stream's caller ("" otherwise).
   */
  public record Response(Instant time, String node, String type, String version, List<String> resources,
      List<String> versions, List<String> serials, String attestedId) {
    /** The version of {@code resource} in this response, if it carried it. */
    public java.util.Optional<String> versionOf(String resource) {
      int i = resources.indexOf(resource);
      return i < 0 || i >= versions.size() ? java.util.Optional.empty() : java.util.Optional.of(versions.get(i));
    }
  }

  private PushLog() {}

  public static List<Response> responses(List<String> stdoutLines) {
    List<Response> out = new ArrayList<>();
    for (String line : stdoutLines) {
      if (!line.contains("\"rotor.push\"") || !line.contains("\"response\"")) {
        continue;
      }
      JsonObject o;
      try {
        o = JsonParser.parseString(line).getAsJsonObject();
      } catch (JsonSyntaxException | IllegalStateException partial) {
        continue; // the last line may still be being written
      }
      if (!"response".equals(string(o, "event"))) {
        continue;
      }
      out.add(new Response(Instant.parse(string(o, "time")), string(o, "node"), string(o, "type"),
          string(o, "version"), strings(o, "resources"), strings(o, "versions"), strings(o, "serials"),
          string(o, "attested_id")));
    }
    return out;
  }

  private static String string(JsonObject o, String field) {
    JsonElement e = o.get(field);
    return e == null || e.isJsonNull() ? "" : e.getAsString();
  }

  private static List<String> strings(JsonObject o, String field) {
    List<String> out = new ArrayList<>();
    JsonElement e = o.get(field);
    if (e instanceof JsonArray a) {
      a.forEach(x -> out.add(x.getAsString()));
    }
    return out;
  }
}
