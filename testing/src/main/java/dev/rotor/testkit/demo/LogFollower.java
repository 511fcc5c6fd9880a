package dev.rotor.testkit.demo;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Hands every complete line appended to a log file to a consumer, as {@code tail -f} would, from
 * one thread of its own; a partial last line waits for its newline. Only that thread reads.
 */
final class LogFollower implements AutoCloseable {
  private final Path file;
  private final Consumer<String> consumer;
  private Periodic thread;
  private long position;
  private final StringBuilder partial = new StringBuilder();

  private LogFollower(Path file, Consumer<String> consumer) {
    this.file = file;
    this.consumer = consumer;
  }

  /** Follows {@code file} from its current end. */
  static LogFollower fromEnd(Path file, Consumer<String> consumer, Duration period) {
    LogFollower follower = new LogFollower(file, consumer);
    try {
      follower.position = Files.exists(file) ? Files.size(file) : 0;
    } catch (IOException e) {
      follower.position = 0;
    }
    follower.thread = Periodic.start("follow-" + file.getFileName(), period, follower::readNew);
    return follower;
  }

  private void readNew() {
    try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
      long length = in.length();
      if (length <= position) {
        return;
      }
      byte[] bytes = new byte[(int) Math.min(length - position, 1 << 20)];
      in.seek(position);
      in.readFully(bytes);
      position += bytes.length;
      partial.append(new String(bytes, StandardCharsets.UTF_8));
      for (int newline; (newline = partial.indexOf("\n")) >= 0; ) {
        consumer.accept(partial.substring(0, newline));
        partial.delete(0, newline + 1);
      }
    } catch (IOException | RuntimeException e) {
      // The file is not there yet, or the consumer failed on one line: try again next time.
    }
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.close();
    }
  }
}
