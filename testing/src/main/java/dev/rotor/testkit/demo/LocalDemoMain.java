package dev.rotor.testkit.demo;

import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.envoy.EnvoyVersions;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import sun.misc.Signal;

/**
 * {@code deploy/local/run.sh}: the {@link LocalDemoStack} in the foreground for people, with a
 * {@link DemoRun} printing what happens, until Ctrl-C (SIGINT or SIGTERM) or {@code --duration};
 * then a summary, the timeline chart, and everything it started stopped. Exit status: 0; 1 with
 * {@code --check} when a call failed or a rogue attempt was not refused; 2 for bad arguments.
 */
public final class LocalDemoMain {
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m)");
  private static final String USAGE = String.join("\n",
      "usage: deploy/local/run.sh [--svid-ttl 60s] [--ca-ttl 3m] [--duration 0s] [--call-interval 1s]",
      "                           [--envoy VERSION] [--out DIR] [--quiet] [--check]",
      "  --svid-ttl       every identity's X.509-SVID TTL; SPIRE renews at about half of it (default 60s)",
      "  --ca-ttl         SPIRE's CA TTL: the next CA takes over at five sixths of it (default 3m)",
      "  --duration       stop by itself after this long; 0s runs until Ctrl-C (default 0s)",
      "  --call-interval  the demo frontend's time between two calls (default 1s)",
      "  --envoy          the Envoy version (default: the newest tested, envoy-configs/envoy-versions.properties)",
      "  --out            where timeline.csv, timeline.png and summary.txt go (default deploy/local/out)",
      "  --quiet          do not print the frontend's call lines",
      "  --check          exit 1 if any call failed or a rogue attempt was not refused (for scripts)");

  /** The parsed command line. */
  record Arguments(Duration svidTtl, Duration caTtl, Duration duration, Duration callInterval, String envoyVersion,
      Path out, boolean quiet, boolean check) {}

  private LocalDemoMain() {}

  public static void main(String[] args) throws Exception {
    Arguments arguments;
    try {
      arguments = parse(List.of(args));
    } catch (IllegalArgumentException e) {
      System.err.println("run.sh: " + e.getMessage() + "\n" + USAGE);
      System.exit(2);
      return;
    }
    System.exit(run(arguments, System.out));
  }

  static int run(Arguments a, PrintStream out) throws InterruptedException {
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    LocalDemoStack.Options options = new LocalDemoStack.Options(a.svidTtl(), a.caTtl(), a.callInterval(), a.envoyVersion());
    out.println("Rotor local demo: SVID TTL " + a.svidTtl().toSeconds() + " s, CA TTL " + a.caTtl().toSeconds()
        + " s, Envoy " + a.envoyVersion());
    try (LocalDemoStack stack = LocalDemoStack.start(options, out::println)) {
      printWhereToLook(stack, out);
      DemoRun run = DemoRun.start(stack, new DemoRun.Options(Duration.ofSeconds(5), Duration.ofSeconds(1),
          Duration.ofMillis(500), Duration.ofSeconds(10), a.out()), (kind, text) -> {
            if (!(a.quiet() && kind == DemoRun.Kind.CALL)) {
              out.println(text);
            }
          });
      if (a.duration().isZero()) {
        stop.await();
      } else {
        stop.await(a.duration().toMillis(), TimeUnit.MILLISECONDS);
      }
      out.println("\nstopping ...");
      DemoReport report = run.finish();
      out.println();
      out.print(report.summary());
      List<String> problems = report.problems();
      if (a.check() && !problems.isEmpty()) {
        out.println("CHECK FAILED:");
        problems.forEach(p -> out.println("  " + p));
        stack.markFailed();
        return 1;
      }
      return 0;
    }
  }

  private static void printWhereToLook(LocalDemoStack stack, PrintStream out) {
    out.println();
    out.println("Running. Look at:");
    out.printf("  backend Envoy admin   %s   (curl -s %scerts | jq; %sconfig_dump?resource=dynamic_active_secrets)%n",
        stack.backendEnvoy().admin().base(), stack.backendEnvoy().admin().base(), stack.backendEnvoy().admin().base());
    out.printf("  frontend Envoy admin  %s%n", stack.frontendEnvoy().admin().base());
    out.printf("  backend Rotor         %s/status   frontend Rotor %s/status%n", stack.backendRotor().adminUrl(),
        stack.frontendRotor().adminUrl());
    out.printf("  the frontend calls    http://127.0.0.1:%d/api/demo (its Envoy's outbound listener)%n", stack.frontendPort());
    out.printf("  logs                  %s (rotor-*.stdout.jsonl: push logs; *.envoy.log; backend/frontend.stdout.jsonl)%n",
        stack.dir());
    out.println("Ctrl-C stops everything and prints a summary.");
    out.println();
  }

  static Arguments parse(List<String> args) {
    Duration svidTtl = Duration.ofSeconds(60);
    Duration caTtl = Duration.ofMinutes(3);
    Duration duration = Duration.ZERO;
    Duration callInterval = Duration.ofSeconds(1);
    String envoy = null;
    Path out = RepoRoot.resolve("deploy/local/out");
    boolean quiet = false;
    boolean check = false;
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      switch (arg) {
        case "--svid-ttl" -> svidTtl = duration(arg, value(args, ++i, arg));
        case "--ca-ttl" -> caTtl = duration(arg, value(args, ++i, arg));
        case "--duration" -> duration = duration(arg, value(args, ++i, arg));
        case "--call-interval" -> callInterval = duration(arg, value(args, ++i, arg));
        case "--envoy" -> envoy = value(args, ++i, arg);
        case "--out" -> out = Path.of(value(args, ++i, arg)).toAbsolutePath();
        case "--quiet" -> quiet = true;
        case "--check" -> check = true;
        default -> throw new IllegalArgumentException("unknown argument \"" + arg + "\"");
      }
    }
    return new Arguments(svidTtl, caTtl, duration, callInterval, envoy == null ? EnvoyVersions.newest() : envoy, out,
        quiet, check);
  }

  private static String value(List<String> args, int i, String flag) {
    if (i >= args.size()) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args.get(i);
  }

  private static Duration duration(String flag, String text) {
    Matcher m = DURATION.matcher(text.toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(flag + " \"" + text + "\" (expected a duration such as 500ms, 45s, 3m)");
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      default -> Duration.ofMinutes(n);
    };
  }
}
