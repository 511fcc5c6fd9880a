package dev.rotor.demo.backend;

import static java.util.Objects.requireNonNull;

/**
 * Who PostgreSQL says the backend is on a connection: the role it mapped the client certificate
 * to ({@code current_user}, through pg_ident.conf) and the certificate it saw ({@code
 * pg_stat_ssl}, for this backend's own session).
 */
public record DatabaseIdentity(String currentUser, boolean ssl, String tlsVersion, String clientDn,
    String clientSerial) {
  public DatabaseIdentity {
    requireNonNull(currentUser, "currentUser");
  }
}
