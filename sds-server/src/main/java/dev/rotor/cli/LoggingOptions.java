package dev.rotor.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import java.net.URL;
import java.util.List;
import java.util.Locale;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/**
 * {@code --log-format} and {@code --log-level}, for every long-running command (a picocli mixin).
 *
 * <p>The two formats are two logback configurations on the classpath: {@code logback.xml} (JSON
 * lines through logstash-logback-encoder, the default, which logback loads by itself at start-up)
 * and {@code logback-text.xml} (one readable line per event). Logback is reconfigured only when the
 * flags ask for something other than what is already loaded, so the default start-up path does
 * not reconfigure anything. Both configurations take their level from the context property
 * {@code ROTOR_LOG_LEVEL}, which falls back to the environment variable of that name, then INFO.
 */
public final class LoggingOptions {

  static final List<String> LEVELS = List.of("error", "warn", "info", "debug", "trace");

  @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "json",
      description = "Log format: json (one JSON object per line, for collectors) or text (for people)."
          + " Default: ${DEFAULT-VALUE}.")
  String format;

  @Option(names = "--log-level", paramLabel = "LEVEL",
      description = "Log level: error, warn, info, debug or trace. Default: $ROTOR_LOG_LEVEL, else info."
          + " Private keys are never logged at any level.")
  String level;

  /** Checks the flags; bad input is a {@link UsageException}. Call before starting anything. */
  void validate() {
    if (!format.equals("json") && !format.equals("text")) {
      throw UsageException.of("--log-format", "\"" + format + "\" (expected: json or text)");
    }
    if (level != null && !LEVELS.contains(level.toLowerCase(Locale.ROOT))) {
      throw UsageException.of("--log-level", "\"" + level + "\" (expected one of: " + String.join(", ", LEVELS) + ")");
    }
  }

  /** Switches logback to the asked format and level, if that is not what is loaded already. */
  void apply() {
    validate();
    if (format.equals("json") && level == null) {
      return; // logback.xml, loaded at start-up, is exactly this
    }
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (!(factory instanceof LoggerContext ctx)) {
      return; // not logback (cannot happen in the rotor jar)
    }
    String resource = format.equals("text") ? "/logback-text.xml" : "/logback.xml";
    URL config = LoggingOptions.class.getResource(resource);
    if (config == null) {
      throw new IllegalStateException(resource + " is missing from the classpath");
    }
    String effectiveLevel = level != null ? level.toUpperCase(Locale.ROOT)
        : System.getenv().getOrDefault("ROTOR_LOG_LEVEL", "INFO");
    ctx.reset();
    ctx.putProperty("ROTOR_LOG_LEVEL", effectiveLevel);
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(ctx);
    try {
      configurator.doConfigure(config);
    } catch (JoranException e) {
      throw new IllegalStateException("cannot configure logging from " + resource, e);
    }
  }

  /**
   * Flushes and stops logging: the last lines (e.g. "rotor stopped") reach stdout before the JVM
   * exits. Logging after this goes nowhere.
   */
  static void flushAndStop() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
      ctx.stop();
    }
  }
}
