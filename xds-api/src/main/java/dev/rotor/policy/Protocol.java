package dev.rotor.policy;

/** What an inbound listener speaks, which decides what its rules can express. */
public enum Protocol {
  /** HTTP/1.1 or HTTP/2: rules may also match methods and paths (Envoy HTTP RBAC filter). */
  HTTP,
  /** Opaque TCP: rules match the peer's SPIFFE ID only (Envoy network RBAC filter). */
  TCP;

  /** The spelling used in the policy file: {@code http} or {@code tcp}. */
  public String yamlName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
