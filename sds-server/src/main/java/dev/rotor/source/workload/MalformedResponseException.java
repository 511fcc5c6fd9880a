package dev.rotor.source.workload;

/**
 * A SPIRE agent response (Workload API or Delegated Identity API) that cannot become an {@code IdentitySnapshot}: bad DER, a key that is
 * not PKCS#8, a malformed SPIFFE ID or trust domain. The message names the response field and
 * never contains key material.
 */
public final class MalformedResponseException extends Exception {

  public MalformedResponseException(String message) {
    super(message);
  }

  public MalformedResponseException(String message, Throwable cause) {
    super(message, cause);
  }
}
