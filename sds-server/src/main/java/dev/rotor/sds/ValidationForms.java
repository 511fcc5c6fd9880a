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
