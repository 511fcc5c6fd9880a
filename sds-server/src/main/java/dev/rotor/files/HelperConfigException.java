package dev.rotor.files;

/**
 * A {@code helper.conf} (or {@code rotor write-certs} flag) that cannot be used: one line naming
 * where (file and line, or flag), the key, the value and the fix.
 */
public final class HelperConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public HelperConfigException(String message) {
    super(message);
  }

  public HelperConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
