package dev.rotor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every {@code --help} reads well on an 80-column terminal (issue 15): no line is wider, no URI
 * such as {@code spiffe://<trust-domain>} is broken across lines, no sentence is cut by a line
 * break the width did not force, and every command's one-line summary is a whole sentence.
 */
class HelpTextTest {

  static final int WIDTH = 80;

  /** Every command and subcommand, by its full name ("rotor", "rotor policy check", ...). */
  static Stream<String> commands() {
    List<String> out = new ArrayList<>();
    collect(root(), "rotor", out);
    return out.stream();
  }

  private static void collect(CommandLine cl, String name, List<String> out) {
    out.add(name);
    cl.getSubcommands().forEach((sub, child) -> {
      if (!sub.equals("help")) {
        collect(child, name + " " + sub, out);
      }
    });
  }

  private static CommandLine root() {
    CommandLine cl = new CommandLine(new RotorMain());
    cl.setUsageHelpAutoWidth(false);
    cl.setUsageHelpWidth(WIDTH);
    return cl;
  }

  private static CommandLine find(String command) {
    CommandLine cl = root();
    for (String word : command.split(" ")) {
      if (!word.equals("rotor")) {
        cl = cl.getSubcommands().get(word);
      }
    }
    return cl;
  }

  /** What `<command> --help` prints, through RotorMain as a user runs it. */
  private static String help(String command) {
    List<String> args = new ArrayList<>(List.of(command.split(" ")).subList(1, command.split(" ").length));
    args.add("--help");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = RotorMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
    assertThat(status).as(command + " --help: " + err).isZero();
    assertThat(err.toString()).as(command + " --help writes nothing to stderr").isEmpty();
    return out.toString();
  }

  @ParameterizedTest(name = "{0} --help")
  @MethodSource("commands")
  void noLineIsWiderThan80Columns(String command) {
    assertThat(help(command).lines()).allSatisfy(l -> assertThat(l.length()).as(l).isLessThanOrEqualTo(WIDTH));
  }

  private static final Pattern URI = Pattern.compile("(?:spiffe|unix|tcp|https?)://[^\\s,;\"']*[^\\s,;\"'.)]");

  @ParameterizedTest(name = "{0} --help")
  @MethodSource("commands")
  void everyUriInTheHelpSources_isWholeOnOneLine(String command) {
    String help = help(command);
    List<String> uris = uris(find(command).getCommandSpec());
    for (String uri : uris) {
      assertThat(help.lines().anyMatch(l -> l.contains(uri))).as(command + ": " + uri + " on one line of:\n" + help)
          .isTrue();
    }
    assertThat(help.lines()).as(command).noneMatch(l -> l.matches(".*\\b(spiffe|unix|tcp|https?):/{0,2}$"));
  }

  private static List<String> uris(CommandSpec spec) {
    List<String> texts = new ArrayList<>(List.of(spec.usageMessage().description()));
    texts.addAll(List.of(spec.usageMessage().footer()));
    for (OptionSpec o : spec.options()) {
      if (!o.hidden()) {
        texts.addAll(List.of(o.description()));
      }
    }
    List<String> uris = new ArrayList<>();
    for (String t : texts) {
      Matcher m = URI.matcher(t.replace("${DEFAULT-VALUE}", ""));
      while (m.find()) {
        uris.add(m.group());
      }
    }
    return uris;
  }

  @Test
  void theUriCheckSeesTheUrisItClaimsTo() {
    assertThat(uris(find("rotor serve").getCommandSpec())).contains("spiffe://<trust-domain>");
    assertThat(uris(find("rotor write-certs").getCommandSpec())).contains("unix:///path");
  }

  @ParameterizedTest(name = "{0} --help")
  @MethodSource("commands")
  void noSentenceIsCutByALineBreakTheWidthDidNotForce(String command) {
    assertThat(cutSentences(help(command))).as(command).isEmpty();
  }

  /**
   * A line that does not end a sentence, followed at the same indentation by one that goes on in
   * lower case, although its first word would have fitted: a break written into the source, which
   * picocli re-wraps into ragged half-lines.
   */
  static List<String> cutSentences(String help) {
    List<String> cuts = new ArrayList<>();
    List<String> lines = help.lines().toList();
    for (int i = 0; i + 1 < lines.size(); i++) {
      String line = lines.get(i);
      String next = lines.get(i + 1);
      if (line.isBlank() || next.isBlank() || indent(line) != indent(next)) {
        continue;
      }
      String nextText = next.strip();
      if (nextText.startsWith("rotor ") || !Character.isLowerCase(nextText.charAt(0))) {
        continue; // an example command, a new item or sentence
      }
      if (line.strip().matches(".*[.:;!?]$")) {
        continue;
      }
      String firstWord = nextText.split("\\s+")[0];
      // picocli fills a line to WIDTH - 1 columns
      if (line.stripTrailing().length() + 1 + firstWord.length() < WIDTH) {
        cuts.add("\"" + line.strip() + "\" / \"" + nextText + "\"");
      }
    }
    return cuts;
  }

  private static int indent(String line) {
    return line.length() - line.stripLeading().length();
  }

  @Test
  void theCutCheckCatchesARaggedBreak() {
    assertThat(cutSentences("Takes SVIDs from the SPIRE Workload API (or an embedded development CA)\n"
        + "and serves them to Envoy over SDS.\n")).hasSize(1);
    assertThat(cutSentences("A sentence that ends.\nanother one\n")).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("commands")
  void everySummaryLine_isAWholeSentence(String command) {
    String[] description = find(command).getCommandSpec().usageMessage().description();
    assertThat(description).as(command + " has a description").isNotEmpty();
    assertThat(description[0]).as(command + ": the summary the command list shows").endsWith(".")
        .doesNotContain("\n");
  }

  @ParameterizedTest(name = "rotor {0}")
  @CsvSource(delimiter = '|', value = {
      "bogus --help       | rotor: unknown command \"bogus\"",
      "sevre --dev        | rotor: unknown command \"sevre\" (did you mean serve?)",
      "policy chek x.yaml | rotor policy: unknown command \"chek\" (did you mean check?)",
      "statsu             | rotor: unknown command \"statsu\" (did you mean status?)",
  })
  void unknownSubcommand_isAnError_exit2_withDidYouMean(String args, String expected) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = RotorMain.run(new PrintWriter(out, true), new PrintWriter(err, true), args.trim().split("\\s+"));
    assertThat(status).isEqualTo(2);
    assertThat(err.toString().strip()).startsWith(expected.strip()).contains("see: rotor");
    assertThat(err.toString().strip().lines()).hasSize(1);
    assertThat(out.toString()).isEmpty();
  }
}
