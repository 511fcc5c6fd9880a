package dev.rotor.demo;

import dev.rotor.demo.backend.BackendApp;
import dev.rotor.demo.backend.BackendConfig;
import dev.rotor.demo.config.ConfigException;
import dev.rotor.demo.config.Env;
import dev.rotor.demo.frontend.FrontendApp;
import dev.rotor.demo.frontend.FrontendConfig;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * {@code java -jar demo.jar backend|frontend}: configuration from the environment, JSON logs on
 * stdout, and a graceful stop on SIGTERM or SIGINT: stop accepting, let requests in flight finish
 * for {@link #GRACE}, close the pool, exit 0. Exit status 2: bad configuration. The signals are
 * handled directly (jdk.unsupported's {@code sun.misc.Signal}, as Rotor does): with a shutdown
 * hook alone the JVM would exit 143 however cleanly the hook stopped.
 */
public final class DemoMain {
  private static final Logger log = LoggerFactory.getLogger(DemoMain.class);
  static final Duration GRACE = Duration.ofSeconds(5);

  private DemoMain() {}

  /** What a started program must do when told to stop. */
  @FunctionalInterface
  interface Stoppable {
    void stop(Duration grace) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    String program = args.length == 1 ? args[0] : "";
    Env env = new Env(System.getenv());
    Stoppable app;
    try {
      switch (program) {
        case "backend" -> {
          BackendApp b = BackendApp.start(BackendConfig.fromEnv(env));
          app = b::stop;
        }
        case "frontend" -> {
          FrontendApp f = FrontendApp.start(FrontendConfig.fromEnv(env));
          app = f::stop;
        }
        default -> {
          System.err.println("usage: java -jar demo.jar backend|frontend   (configuration: environment variables,"
              + " see demo/README.md)");
          System.exit(2);
          return;
        }
      }
    } catch (ConfigException e) {
      for (String problem : e.problems()) {
        log.error("bad configuration: {}", problem);
      }
      System.exit(2);
      return;
    }
    CountDownLatch stopRequested = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stopRequested.countDown());
    Signal.handle(new Signal("INT"), s -> stopRequested.countDown());
    stopRequested.await();
    log.info("{} stopping (signal), grace {}s", program, GRACE.toSeconds());
    try {
      app.stop(GRACE);
    } catch (Exception e) {
      log.warn("{} did not stop cleanly", program, e);
      System.exit(1);
    }
    System.exit(0);
  }
}
