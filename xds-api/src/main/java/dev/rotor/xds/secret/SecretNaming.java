package dev.rotor.xds.secret;

import static java.util.Objects.requireNonNull;

import java.util.HashSet;
import java.util.List;

/**
 * The alias names of secrets, configurable like SPIRE's agent ({@code default_svid_name},
 * {@code default_bundle_name}, {@code default_all_bundles_name}), so an Envoy bootstrap written for
 * the SPIRE agent works unchanged against Rotor.
 */
public record SecretNaming(String defaultSvidName, String defaultBundleName, String allBundlesName) {

  /** SPIRE's defaults: {@code default}, {@code ROOTCA}, {@code ALL}. */
  public static final SecretNaming SPIRE_DEFAULTS = new SecretNaming("default", "ROOTCA", "ALL");

  public SecretNaming {
    check("defaultSvidName", defaultSvidName);
    check("defaultBundleName", defaultBundleName);
    check("allBundlesName", allBundlesName);
    if (new HashSet<>(List.of(defaultSvidName, defaultBundleName, allBundlesName)).size() != 3) {
      throw new IllegalArgumentException(String.format(
          "secret names: %s, %s, %s (expected: three different names)",
          defaultSvidName, defaultBundleName, allBundlesName));
    }
  }

  private static void check(String field, String value) {
    requireNonNull(value, field);
    if (value.isBlank() || value.equals("*") || value.startsWith("spiffe://")) {
      throw new IllegalArgumentException(String.format(
          "%s: \"%s\" (expected: a non-empty name that is not \"*\" and does not start with spiffe://)", field, value));
    }
  }
}
