package dev.rotor.files;

import java.util.List;
import java.util.Locale;

/**
 * A POSIX signal by name, as {@code renew_signal} gives it ({@code SIGHUP}; {@code HUP} and lower
 * case are accepted too). Only names Linux knows are accepted, so a typo fails at start-up rather
 * than at the first renewal.
 */
public record RenewSignal(String name) {

  /** Linux's standard signals, in number order (kill -l). */
  static final List<String> KNOWN = List.of(
      "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
      "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
      "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
      "SIGSYS");

  public RenewSignal {
    if (!KNOWN.contains(name)) {
      throw new IllegalArgumentException("\"" + name + "\" is not a signal name (expected e.g. SIGHUP or SIGUSR1)");
    }
  }

  /**
   * Parses {@code SIGHUP}, {@code HUP}, {@code sighup}.
   *
   * @throws IllegalArgumentException naming the value and giving examples
   */
  public static RenewSignal parse(String value) {
    String v = value.trim().toUpperCase(Locale.ROOT);
    String name = v.startsWith("SIG") ? v : "SIG" + v;
    if (!KNOWN.contains(name)) {
      throw new IllegalArgumentException("\"" + value + "\" is not a signal name (expected one of SIGHUP, SIGUSR1,"
          + " SIGUSR2, SIGTERM, ... as kill -l lists them)");
    }
    return new RenewSignal(name);
  }

  /** The name without {@code SIG}, as {@code kill -s} takes it. */
  public String shortName() {
    return name.substring(3);
  }

  public int number() {
    return KNOWN.indexOf(name) + 1;
  }

  @Override
  public String toString() {
    return name;
  }
}
