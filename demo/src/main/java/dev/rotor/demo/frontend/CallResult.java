package dev.rotor.demo.frontend;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * One call of the frontend to the backend, as logged and as {@code /} shows it.
 *
 * @param at when the call started (ISO-8601)
 * @param success HTTP 200 with a JSON body
 * @param status the HTTP status, 0 when there was no response
 * @param latencyMillis from sending the request to having the whole answer (or the failure)
 * @param answer the backend's JSON answer (also on an error status, when it was JSON)
 * @param error what went wrong, when it did: a status line, Envoy's text, or the I/O failure
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CallResult(String at, boolean success, int status, long latencyMillis, JsonNode answer, String error) {
  public CallResult {
    requireNonNull(at, "at");
  }
}
