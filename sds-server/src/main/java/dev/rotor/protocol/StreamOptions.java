package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import java.util.Set;

/**
 * What a stream accepts.
 *
 * @param typeUrls the types this service serves; a request for any other is refused
 * @param defaultTypeUrl used when a request has no {@code type_url}; empty for ADS, where a missing
 *     type is an error (xds-protocol rule 5)
 * @param maxResourceNames per request; more is refused as hostile input
 * @param maxNameLength per resource name, in characters
 */
public record StreamOptions(Set<String> typeUrls, String defaultTypeUrl, int maxResourceNames, int maxNameLength) {

  public static final int DEFAULT_MAX_RESOURCE_NAMES = 10_000;
  public static final int DEFAULT_MAX_NAME_LENGTH = 4_096;

  public StreamOptions {
    typeUrls = Set.copyOf(requireNonNull(typeUrls, "typeUrls"));
    requireNonNull(defaultTypeUrl, "defaultTypeUrl");
    if (!defaultTypeUrl.isEmpty() && !typeUrls.contains(defaultTypeUrl)) {
      throw new IllegalArgumentException("defaultTypeUrl: " + defaultTypeUrl + " (expected: one of " + typeUrls + ")");
    }
    if (maxResourceNames < 1 || maxNameLength < 1) {
      throw new IllegalArgumentException("limits: " + maxResourceNames + ", " + maxNameLength + " (expected: > 0)");
    }
  }

  /** A single-type service such as SDS: requests without a type get this one. */
  public static StreamOptions singleType(String typeUrl) {
    return new StreamOptions(Set.of(typeUrl), typeUrl, DEFAULT_MAX_RESOURCE_NAMES, DEFAULT_MAX_NAME_LENGTH);
  }

  /** ADS: several types, each request must name its type. */
  public static StreamOptions aggregated(Set<String> typeUrls) {
    return new StreamOptions(typeUrls, "", DEFAULT_MAX_RESOURCE_NAMES, DEFAULT_MAX_NAME_LENGTH);
  }
}
