package dev.rotor.cli;

import dev.rotor.policy.Decision;
import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyError;
import dev.rotor.policy.PolicyException;
import dev.rotor.policy.PolicyExplainer;
import dev.rotor.policy.PolicyParser;
import dev.rotor.text.EchoedText;
import io.spiffe.spiffeid.SpiffeId;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rotor policy check|explain}: work with a SPIFFE-ID authorization policy offline. */
@Command(name = "policy", mixinStandardHelpOptions = true,
    description = {"Check a policy file, or explain what it decides for one request.", "",
        "The policy's schema and semantics: docs/policy.md."},
    subcommands = {PolicyCommand.Check.class, PolicyCommand.Explain.class})
final class PolicyCommand {

  @Command(name = "check", mixinStandardHelpOptions = true,
      description = {"Validate a policy file and print every error.", "",
          "Each error is one line: file:line: field path: message.", "",
          "Exit status: 0 valid, 1 invalid, 2 unreadable."})
  static final class Check implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "The policy YAML file.")
    Path file;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      String text = PolicyFiles.read("FILE", file);
      try {
        Policy p = PolicyParser.parse(file.toString(), text);
        out.printf("%s: valid (version %d, %d workload%s, content version %s)%n", EchoedText.escape(file.toString()),
            p.version(),
            p.workloads().size(), p.workloads().size() == 1 ? "" : "s", p.contentVersion());
        return 0;
      } catch (PolicyException e) {
        PrintWriter err = spec.commandLine().getErr();
        for (PolicyError error : e.errors()) {
          err.println(error);
        }
        err.printf("%s: %d error%s%n", EchoedText.escape(file.toString()), e.errors().size(),
            e.errors().size() == 1 ? "" : "s");
        return 1;
      }
    }
  }

  @Command(name = "explain", mixinStandardHelpOptions = true, sortOptions = false,
      description = {"Say whether a request is allowed, and which rule decided.", "",
          "The request: from a SPIFFE ID to a workload of the policy. Deny rules are evaluated before allow"
              + " rules; with allow rules present, anything unmatched is denied.", "",
          "Exit status: 0 allowed, 1 denied, 2 bad input."})
  static final class Explain implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--policy", required = true, paramLabel = "FILE", description = "The policy YAML file.")
    Path policy;

    @Option(names = "--from", required = true, paramLabel = "SPIFFE_ID", description = "The caller's SPIFFE ID.")
    String from;

    @Option(names = "--to", required = true, paramLabel = "WORKLOAD", description = "The workload name in the policy.")
    String to;

    @Option(names = "--port", paramLabel = "N", description = "Inbound port (default: the workload's inbound port).")
    Integer port;

    @Option(names = "--method", paramLabel = "M", description = "HTTP method, e.g. GET.")
    String method;

    @Option(names = "--path", paramLabel = "P", description = "HTTP path, e.g. /api/orders.")
    String path;

    @Override
    public Integer call() {
      Policy p = PolicyFiles.load("--policy", policy);
      SpiffeId caller;
      try {
        caller = PolicyExplainer.callerId(from); // refused as `policy check` refuses it in a rule
      } catch (IllegalArgumentException e) {
        throw UsageException.of("--from", e.getMessage());
      }
      if (p.workload(to).isEmpty()) {
        throw UsageException.of("--to", "no workload named \"" + to + "\" in " + policy + " (workloads: "
            + p.workloads().stream().map(w -> w.name()).toList() + ")");
      }
      Decision d = PolicyExplainer.explain(p, to, caller, port == null ? OptionalInt.empty() : OptionalInt.of(port),
          Optional.ofNullable(method), Optional.ofNullable(path));
      spec.commandLine().getOut().println((d.allowed() ? "ALLOW" : "DENY") + ": " + d.reason());
      return d.allowed() ? 0 : 1;
    }
  }
}
