package dev.rotor.xds;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/** Public facts about a served leaf certificate, for logs and status. */
public record CertificateInfo(String spiffeId, String serialHex, Instant notAfter) {
  public CertificateInfo {
    requireNonNull(spiffeId, "spiffeId");
    requireNonNull(serialHex, "serialHex");
    requireNonNull(notAfter, "notAfter");
  }
}
