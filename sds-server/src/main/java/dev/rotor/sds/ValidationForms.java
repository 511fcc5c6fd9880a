package dev.rotor.sds;

import com.google.protobuf.Value;
import dev.rotor.xds.secret.ValidationForm;
import io.envoyproxy.envoy.config.core.v3.Node;

/**
 * Chooses how validation contexts are expressed for one Envoy, as SPIRE's agent does: the SPIFFE
 * validator unless disabled for all ({@code --disable-spiffe-cert-validation}), disabled for this
 * Envoy by node metadata {@code disable_spiffe_cert_validation} (bool or "true"), or the Envoy
 * reports a version older than 1.18, which lacks the validator.
 */
public final class ValidationForms {

  public static final String METADATA_KEY = "disable_spiffe_cert_validation";

  private ValidationForms() {}

  /**
   * Why this Envoy gets {@code trusted_ca} contexts rather than the SPIFFE validator, in words for a
   * log line; empty when it gets the validator.
   */
  public static java.util.Optional<String> whyTrustedCa(Node node, boolean disabledForAll) {
    if (forNode(node, disabledForAll) == ValidationForm.SPIFFE_VALIDATOR) {
      return java.util.Optional.empty();
    }
    if (disabledForAll) {
      return java.util.Optional.of("Rotor runs with --disable-spiffe-cert-validation");
    }
    if (node.getMetadata().getFieldsMap().containsKey(METADATA_KEY)) {
      return java.util.Optional.of("this Envoy's node metadata sets " + METADATA_KEY);
    }
    var v = node.getUserAgentBuildVersion().getVersion();
    return java.util.Optional.of("this Envoy reports version " + v.getMajorNumber() + "." + v.getMinorNumber() + "."
        + v.getPatch() + ", older than 1.18, which has no SPIFFE validator");
  }

  public static ValidationForm forNode(Node node, boolean disabledForAll) {
    if (disabledForAll) {
      return ValidationForm.TRUSTED_CA;
    }
    Value v = node.getMetadata().getFieldsMap().get(METADATA_KEY);
    if (v != null) {
      boolean disabled = (v.hasBoolValue() && v.getBoolValue())
          || (v.hasStringValue() && v.getStringValue().trim().equalsIgnoreCase("true"));
      if (disabled) {
        return ValidationForm.TRUSTED_CA;
      }
    }
    if (node.hasUserAgentBuildVersion() && node.getUserAgentBuildVersion().hasVersion()) {
      var version = node.getUserAgentBuildVersion().getVersion();
      if (version.getMajorNumber() < 1 || (version.getMajorNumber() == 1 && version.getMinorNumber() < 18)) {
        return ValidationForm.TRUSTED_CA;
      }
    }
    return ValidationForm.SPIFFE_VALIDATOR;
  }
}
