package dev.rotor.cli;

import sun.misc.Signal;

/**
 * SIGTERM and SIGINT start a graceful shutdown that ends with exit status 0. A JVM shutdown hook
 * cannot do this: the JVM then exits with 143 whatever the hook does, so Rotor handles the
 * signals itself (through the supported-but-internal {@code sun.misc.Signal} of jdk.unsupported).
 */
final class Signals {
  private Signals() {}

  static void onTermination(Runnable action) {
    Signal.handle(new Signal("TERM"), s -> action.run());
    Signal.handle(new Signal("INT"), s -> action.run());
  }
}
