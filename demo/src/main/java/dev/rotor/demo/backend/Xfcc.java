package dev.rotor.demo.backend;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Envoy's {@code x-forwarded-client-cert} header: who the caller was, as the backend's Envoy
 * authenticated it. Rotor's inbound listener sets {@code forward_client_cert_details:
 * SANITIZE_SET} with the URI SAN (xds-api {@code Listeners}), so whatever a client sent is
 * dropped and Envoy writes one element {@code By=<our URI>;Hash=<sha256>;URI=<caller's URI>}.
 *
 * <p>Grammar (Envoy's docs, "x-forwarded-client-cert"): elements separated by {@code ,}; each a
 * list of {@code key=value} pairs separated by {@code ;}; a value may be double-quoted, and then
 * may hold {@code ,}, {@code ;} and {@code =}, with {@code \"} for a quote. Keys are
 * case-insensitive. The last element is the one the nearest proxy added.
 */
public final class Xfcc {
  public static final String HEADER = "x-forwarded-client-cert";

  private Xfcc() {}

  /**
   * The caller's SPIFFE ID: the {@code URI} of the last element.
   *
   * @throws IllegalArgumentException why there is none, for the /api/demo answer
   */
  public static String peerUri(String header) {
    List<Map<String, String>> elements = parse(header);
    Map<String, String> nearest = elements.get(elements.size() - 1);
    String uri = nearest.get("uri");
    if (uri == null || uri.isEmpty()) {
      throw new IllegalArgumentException(HEADER + " has no URI in its last element (expected URI=spiffe://...;"
          + " the caller's certificate had no URI SAN, or Envoy is not set to forward it)");
    }
    if (!uri.startsWith("spiffe://")) {
      throw new IllegalArgumentException(HEADER + ": URI \"" + uri + "\" is not a SPIFFE ID (expected spiffe://...)");
    }
    return uri;
  }

  /**
   * Every element, keys in lower case, values unquoted.
   *
   * @throws IllegalArgumentException on an empty header, an unterminated quote, or a pair without {@code =}
   */
  public static List<Map<String, String>> parse(String header) {
    if (header == null || header.isBlank()) {
      throw new IllegalArgumentException("no " + HEADER + " header (expected one set by the backend's Envoy:"
          + " the request did not come through its mTLS listener)");
    }
    List<Map<String, String>> elements = new ArrayList<>();
    Map<String, String> element = new LinkedHashMap<>();
    StringBuilder token = new StringBuilder();
    String key = null;
    boolean quoted = false;
    boolean wasQuoted = false;
    for (int i = 0; i < header.length(); i++) {
      char c = header.charAt(i);
      if (quoted) {
        if (c == '\\' && i + 1 < header.length()) {
          token.append(header.charAt(++i));
        } else if (c == '"') {
          quoted = false;
        } else {
          token.append(c);
        }
      } else if (c == '"' && key != null && token.length() == 0) {
        quoted = true;
        wasQuoted = true;
      } else if (c == '=' && key == null) {
        key = token.toString().trim().toLowerCase(Locale.ROOT);
        if (key.isEmpty()) {
          throw new IllegalArgumentException(HEADER + ": a pair without a key at offset " + i);
        }
        token.setLength(0);
      } else if (c == ';' || c == ',') {
        putPair(element, key, token, wasQuoted, i);
        key = null;
        wasQuoted = false;
        if (c == ',') {
          elements.add(element);
          element = new LinkedHashMap<>();
        }
      } else {
        token.append(c);
      }
    }
    if (quoted) {
      throw new IllegalArgumentException(HEADER + ": unterminated quoted value");
    }
    putPair(element, key, token, wasQuoted, header.length());
    elements.add(element);
    return List.copyOf(elements);
  }

  private static void putPair(Map<String, String> element, String key, StringBuilder token, boolean quoted, int at) {
    String value = quoted ? token.toString() : token.toString().trim();
    token.setLength(0);
    if (key == null) {
      if (value.isEmpty()) {
        return; // tolerate ";;" and a trailing separator
      }
      throw new IllegalArgumentException(HEADER + ": \"" + value + "\" before offset " + at + " is not key=value");
    }
    element.put(key, value);
  }
}
