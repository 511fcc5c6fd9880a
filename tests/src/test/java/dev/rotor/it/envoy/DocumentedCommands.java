package dev.rotor.it.envoy;

import dev.rotor.testkit.RepoRoot;
import dev.rotor.testkit.process.ShortCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The Envoy admin commands the documentation tells operators to run ({@code curl} against Envoy's
 * admin port 9901, with their {@code jq}/{@code openssl} pipelines), read from the Markdown
 * itself so a test runs exactly what a reader would.
 */
final class DocumentedCommands {
  /** Files whose commands are run; each must keep at least one. */
  static final List<String> FILES = List.of("envoy-configs/README.md", "deploy/README.md");

  private static final Pattern ADMIN = Pattern.compile("(127\\.0\\.0\\.1|localhost):9901");
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  /** One command as written, with the file and line it comes from. */
  record Command(String file, int line, String text) {
    /** Runs it with bash (pipefail) against the admin API at {@code hostPort}; fails on a non-zero status. */
    String run(String hostPort) {
      String script = ADMIN.matcher(text).replaceAll(hostPort);
      return ShortCommand.run(List.of("bash", "-o", "pipefail", "-c", script), TIMEOUT).orThrow().output();
    }

    @Override
    public String toString() {
      return file + ":" + line + ": " + text;
    }
  }

  private DocumentedCommands() {}

  /**
   * Every command line that starts with {@code curl} and talks to port 9901, joined with its
   * backslash continuations; a trailing {@code &} (run in the background in the walkthrough) and
   * a trailing comment are dropped.
   */
  static List<Command> envoyAdmin() {
    List<Command> commands = new ArrayList<>();
    for (String file : FILES) {
      List<String> lines;
      try {
        lines = Files.readAllLines(RepoRoot.resolve(file), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + file, e);
      }
      int found = 0;
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).strip();
        if (!line.startsWith("curl ")) {
          continue;
        }
        int first = i;
        StringBuilder text = new StringBuilder();
        while (line.endsWith("\\") && i + 1 < lines.size()) {
          text.append(line, 0, line.length() - 1).append(' ');
          line = lines.get(++i).strip();
        }
        text.append(line);
        if (ADMIN.matcher(text).find()) {
          commands.add(new Command(file, first + 1, text.toString().replaceAll("\\s+&\\s*$", "").strip()));
          found++;
        }
      }
      if (found == 0) {
        throw new IllegalStateException(file + ": no Envoy admin command (curl ... :9901) found");
      }
    }
    return commands;
  }
}
