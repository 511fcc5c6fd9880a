package dev.rotor.testkit.demo;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The demo frontend's calls, read from its JSON log (logger {@code demo.frontend.calls}, one line
 * per call, demo/README.md): when, the HTTP status, and what the backend reported about both hops,
 * the caller's SPIFFE ID as the backend's Envoy authenticated it and the client certificate serial
 * PostgreSQL saw ({@code pg_stat_ssl}) for the backend's session.
 */
public final class FrontendCalls {
  /**
   * One call. {@code ok} is the frontend's own verdict (HTTP 200 with a JSON answer); every other
   * answer is a failure.
   */
  public record Call(Instant at, boolean ok, int status, long latencyMillis, Optional<String> callerSpiffeId,
      Optional<BigInteger> databaseClientSerial, String error) {
    /** The serial as Envoy and openssl print it: lower-case hex. */
    public Optional<String> databaseClientSerialHex() {
      return databaseClientSerial.map(s -> s.toString(16));
    }
  }

  private FrontendCalls() {}

  /** Every complete call line of {@code log} so far (the last line may still be being written). */
  public static List<Call> read(Path log) {
    List<String> lines;
    try {
      lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + log, e);
    }
    List<Call> calls = new ArrayList<>();
    for (String line : lines) {
      parse(line).ifPresent(calls::add);
    }
    return calls;
  }

  static Optional<Call> parse(String line) {
    if (!line.contains("\"demo.frontend.calls\"")) {
      return Optional.empty();
    }
    JsonObject o;
    try {
      o = JsonParser.parseString(line).getAsJsonObject();
    } catch (JsonSyntaxException | IllegalStateException partial) {
      return Optional.empty();
    }
    JsonObject answer = o.has("answer") && o.get("answer").isJsonObject() ? o.getAsJsonObject("answer") : new JsonObject();
    return Optional.of(new Call(
        Instant.parse(o.get("time").getAsString()),
        "success".equals(string(o, "outcome").orElse("")),
        o.has("status") ? o.get("status").getAsInt() : 0,
        o.has("latency_ms") ? o.get("latency_ms").getAsLong() : -1,
        object(answer, "frontendToBackend").flatMap(f -> string(f, "spiffeId")),
        object(answer, "backendToDatabase").flatMap(d -> string(d, "clientCertificateSerial")).map(BigInteger::new),
        string(o, "error").orElse("")));
  }

  private static Optional<JsonObject> object(JsonObject o, String field) {
    JsonElement e = o.get(field);
    return e != null && e.isJsonObject() ? Optional.of(e.getAsJsonObject()) : Optional.empty();
  }

  private static Optional<String> string(JsonObject o, String field) {
    JsonElement e = o.get(field);
    return e == null || e.isJsonNull() ? Optional.empty() : Optional.of(e.getAsString());
  }
}
