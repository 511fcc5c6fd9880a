package dev.rotor.source.workload;

/**
 * A Workload API response that cannot become an {@code IdentitySnapshot}: bad DER, a key that is
 * not PKCS#8, a malformed SPIFFE ID or trust domain. The message names the response field and
 * never contains key material.
 */
final class MalformedResponseException extends Exception {

  MalformedResponseException(String message) {
    super(message);
  }

  MalformedResponseException(String message, Throwable cause) {
    super(message, cause);
  }
}
