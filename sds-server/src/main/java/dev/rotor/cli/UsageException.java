package dev.rotor.cli;

/**
 * Bad input on the command line or in a file it names: printed as one line that names the flag
 * (or key) and the fix, and the program exits with status 2 without starting anything.
 */
public final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }

  public UsageException(String message, Throwable cause) {
    super(message, cause);
  }

  /** {@code flag: message}. */
  public static UsageException of(String flag, String message) {
    return new UsageException(flag + ": " + message);
  }
}
