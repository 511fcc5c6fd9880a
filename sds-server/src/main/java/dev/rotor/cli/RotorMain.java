package dev.rotor.cli;

import dev.rotor.text.EchoedText;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code rotor} command: {@code serve}, {@code write-certs} and the other subcommands. */
@Command(
    name = "rotor",
    mixinStandardHelpOptions = true,
    versionProvider = RotorMain.Version.class,
    description = {
        "Rotor: a SPIFFE-native control plane for Envoy sidecars.",
        "",
        "Takes X.509-SVIDs and trust bundles from the SPIRE Workload API (or an embedded development CA) and"
            + " serves them to Envoy over SDS, rotating with no downtime; writes them to files for programs not"
            + " behind Envoy.",
        ""
    },
    subcommands = {ServeCommand.class, StatusCommand.class, WriteCertsCommand.class, PolicyCommand.class, ConfigCommand.class,
        CommandLine.HelpCommand.class})
public final class RotorMain {

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("serve")) {
      // Before anything else: a SIGTERM while the flags and files are read must exit 0 too.
      Signals.catchServeSignalsEarly();
    }
    System.exit(run(args));
  }

  /** Runs the command line and returns the exit status (0 ok, 1 failure, 2 bad input). */
  public static int run(String... args) {
    return run(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
  }

  /** As {@link #run(String...)}, writing to the given streams (tests capture them). */
  public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
    CommandLine cl = new CommandLine(new RotorMain());
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      if (ex instanceof UsageException) {
        cmd.getErr().println(qualifiedName(cmd) + ": " + echoed(ex.getMessage()));
        return 2;
      }
      if (ex instanceof StatusCommand.BadAnswer) {
        cmd.getErr().println(qualifiedName(cmd) + ": " + echoed(ex.getMessage()));
        return 1;
      }
      throw ex;
    });
    cl.setParameterExceptionHandler((ex, a) -> {
      CommandLine cmd = ex.getCommandLine();
      cmd.getErr().println(qualifiedName(cmd) + ": " + echoed(ex.getMessage())
          + " (see: " + qualifiedName(cmd) + " --help)");
      return 2;
    });
    try {
      Optional<String> unknown = unknownCommand(cl, args);
      if (unknown.isPresent()) {
        err.println(unknown.get());
        return 2;
      }
      return cl.execute(args);
    } finally {
      out.flush();
      err.flush();
    }
  }

  /**
   * The error for a word where a subcommand belongs that names none ({@code rotor bogus --help}):
   * picocli would print the parent's help for {@code --help} and exit 0. One line with picocli's
   * suggestions ({@link CommandLine.UnmatchedArgumentException#getSuggestions()}), exit status 2.
   */
  static Optional<String> unknownCommand(CommandLine root, String... args) {
    CommandLine cl = root;
    for (String arg : args) {
      if (arg.equals("--")) {
        return Optional.empty();
      }
      if (cl.getSubcommands().containsKey(arg)) {
        cl = cl.getSubcommands().get(arg);
        continue;
      }
      if (cl.getSubcommands().isEmpty() || !cl.getCommandSpec().positionalParameters().isEmpty()) {
        return Optional.empty(); // the rest is this command's to parse
      }
      if (arg.startsWith("-")) {
        continue; // -h, -V: the commands with subcommands take no option with a value
      }
      String name = qualifiedName(cl);
      List<String> suggestions = new CommandLine.UnmatchedArgumentException(cl, List.of(arg)).getSuggestions();
      String hint = suggestions.isEmpty() ? "" : " (did you mean " + suggestions.get(0) + "?)";
      return Optional.of(name + ": unknown command \"" + echoed(arg) + "\"" + hint + " (see: " + name + " --help)");
    }
    return Optional.empty();
  }

  private static String qualifiedName(CommandLine cl) {
    return cl.getParent() == null ? cl.getCommandName() : qualifiedName(cl.getParent()) + " " + cl.getCommandName();
  }

  /**
   * An error message as the terminal shows it: it quotes flags, file contents and answers as
   * given, so every character outside printable ASCII is escaped, line by line (a message may list
   * one error per line), and a value cannot move the cursor, recolour the terminal or pass a
   * look-alike letter for the real one (issue 13, low).
   */
  static String echoed(String message) {
    return message == null ? "" : String.join("\n", message.lines().map(EchoedText::escape).toList());
  }

  /** The version from the jar's manifest, or "dev" when run from classes. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"rotor " + version()};
    }
  }

  public static String version() {
    String v = RotorMain.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
