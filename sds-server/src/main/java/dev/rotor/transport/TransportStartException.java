package dev.rotor.transport;

/**
 * A transport could not start for a reason the operator can fix (path taken, port in use,
 * directory not writable, ...). {@link #getMessage()} is one line meant for the terminal: it names
 * the command-line flag and says what to do; the CLI prints it and exits with status 2. The cause,
 * if any, is kept for debug logs.
 */
public final class TransportStartException extends Exception {

  TransportStartException(String message) {
    super(message);
  }

  TransportStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
