package dev.rotor.demo.frontend;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rotor.demo.http.JsonHttp;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;

/** Makes one GET to the backend (through the local Envoy) and says how it went; never throws for a failed call. */
public final class BackendCaller {
  private static final int MAX_ERROR_TEXT = 300;

  private final HttpClient client;
  private final URI url;
  private final Duration timeout;
  private final Clock clock;

  public BackendCaller(URI url, Duration timeout, Clock clock) {
    this.url = requireNonNull(url, "url");
    this.timeout = requireNonNull(timeout, "timeout");
    this.clock = requireNonNull(clock, "clock");
    // HTTP/1.1: Envoy's outbound listener speaks it to the app; one connection, kept alive.
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout).build();
  }

  public CallResult call() throws InterruptedException {
    String at = clock.instant().toString();
    long start = System.nanoTime();
    HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout).header("Accept", "application/json").GET().build();
    try {
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      long latency = millisSince(start);
      JsonNode json = json(response.body());
      int status = response.statusCode();
      if (status == 200 && json != null) {
        return new CallResult(at, true, status, latency, json, null);
      }
      String error = json != null ? "HTTP " + status : "HTTP " + status + ": " + shorten(response.body());
      return new CallResult(at, false, status, latency, json, error);
    } catch (HttpTimeoutException e) {
      return new CallResult(at, false, 0, millisSince(start), null, "no answer within " + timeout.toMillis() + "ms");
    } catch (IOException e) {
      // Connection refused: Envoy's outbound listener is not there (yet); reset: TLS to the backend failed.
      return new CallResult(at, false, 0, millisSince(start), null, e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()));
    }
  }

  private static JsonNode json(String body) {
    if (body == null || body.isBlank()) {
      return null;
    }
    try {
      JsonNode node = JsonHttp.JSON.readTree(body);
      return node.isContainerNode() ? node : null;
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  private static String shorten(String text) {
    String t = text == null ? "" : text.strip();
    return t.length() <= MAX_ERROR_TEXT ? t : t.substring(0, MAX_ERROR_TEXT) + "...";
  }

  private static long millisSince(long startNanos) {
    return Duration.ofNanos(System.nanoTime() - startNanos).toMillis();
  }
}
