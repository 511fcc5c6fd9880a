package dev.rotor.xds.secret;

/** How a validation-context secret tells Envoy to check peer certificates. */
public enum ValidationForm {
  /**
   * {@code custom_validator_config} with {@code envoy.tls.cert_validator.spiffe}: each trust domain
   * is checked only against its own bundle. The default, as in SPIRE's agent.
   */
  SPIFFE_VALIDATOR,
  /**
   * {@code trusted_ca} with the bundle's PEM: for Envoys older than 1.18 or when disabled. Cannot
   * express several trust domains safely, so the all-bundles secret is not served in this form.
   */
  TRUSTED_CA
}
