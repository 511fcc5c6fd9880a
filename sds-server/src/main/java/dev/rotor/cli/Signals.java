package dev.rotor.cli;

import java.util.List;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT start a graceful shutdown that ends with exit status 0. A JVM shutdown hook
 * cannot do this: the JVM then exits with 143 whatever the hook does, so Rotor handles the
 * signals itself (through the supported-but-internal {@code sun.misc.Signal} of jdk.unsupported).
 *
 * <p>{@code rotor serve} also treats SIGHUP as a graceful stop, and catches all three from the
 * first line of {@code main} (issue 13, low: SIGHUP exited 129 with the socket left behind and
 * the streams cut, and a SIGTERM during the ~0.3 s of argument parsing exited 143). SIGHUP is a
 * stop, not a reload: the policy file is already watched and re-read when it changes, and every
 * other setting is a flag; a hangup of the terminal that runs Rotor ends it as it ends any
 * foreground program. Until serve has started something, a signal ends the process at once with
 * status 0, since there is nothing to clean up. A signal during the JVM's own start-up, before
 * any Rotor code runs, still gets the JVM's default (exit 143), and under {@code nohup} SIGHUP stays
 * ignored.
 */
final class Signals {

  private static final List<String> SERVE_SIGNALS = List.of("TERM", "INT", "HUP");

  private static final Object lock = new Object();
  // Guarded by "lock": serve's stop action once it has one, and whether a signal came before it.
  private static Runnable serveStop;
  private static boolean serveStopRequested;

  private Signals() {}

  static void onTermination(Runnable action) {
    Signal.handle(new Signal("TERM"), s -> action.run());
    Signal.handle(new Signal("INT"), s -> action.run());
  }

  /** {@code rotor serve}, first thing: SIGTERM, SIGINT and SIGHUP exit 0 until {@link #whenServing}. */
  static void catchServeSignalsEarly() {
    for (String name : SERVE_SIGNALS) {
      try {
        Signal.handle(new Signal(name), s -> serveSignal());
      } catch (IllegalArgumentException e) {
        // reserved by the JVM (-Xrs): its default stays
      }
    }
  }

  /**
   * From now on a serve signal runs {@code stop} (which must end in a clean shutdown); if one came
   * already, runs it at once. Installs the handlers when {@link #catchServeSignalsEarly} did not run
   * (serve called in process, as tests do).
   */
  static void whenServing(Runnable stop) {
    catchServeSignalsEarly();
    synchronized (lock) {
      serveStop = stop;
      if (!serveStopRequested) {
        return;
      }
    }
    stop.run();
  }

  private static void serveSignal() {
    Runnable stop;
    synchronized (lock) {
      serveStopRequested = true;
      stop = serveStop;
    }
    if (stop == null) {
      System.exit(0); // nothing started yet: parsing flags and files only
    }
    stop.run();
  }
}
