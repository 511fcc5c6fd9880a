package dev.rotor.files;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/** Captures everything one class logs, DEBUG included, as "LEVEL message" lines. */
final class Logs implements AutoCloseable {

  private final Logger logger;
  private final Level previous;
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  Logs(Class<?> source) {
    logger = (Logger) LoggerFactory.getLogger(source);
    previous = logger.getLevel();
    logger.setLevel(Level.DEBUG);
    logger.setAdditive(false); // captured, not printed
    appender.start();
    logger.addAppender(appender);
  }

  List<String> lines() {
    synchronized (appender) {
      return appender.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
    }
  }

  List<String> atLeast(Level level) {
    synchronized (appender) {
      return appender.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(level))
          .map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
    }
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
    logger.setLevel(previous);
    logger.setAdditive(true);
    appender.stop();
  }
}
