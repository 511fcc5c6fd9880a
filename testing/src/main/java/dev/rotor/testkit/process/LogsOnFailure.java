package dev.rotor.testkit.process;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Prints the ends of the logs of the processes a test class started (Rotor, typically) when one
 * of its tests fails, while those processes are still running, or when the class's set-up fails.
 *
 * <pre>{@code
 * @RegisterExtension static final LogsOnFailure logs = new LogsOnFailure();
 * ... logs.add(rotor::describe);
 * }</pre>
 */
public final class LogsOnFailure implements TestWatcher, AfterAllCallback {
  private final List<Supplier<String>> sources = new CopyOnWriteArrayList<>();

  public void add(Supplier<String> describe) {
    sources.add(describe);
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    print("after " + context.getDisplayName() + " failed");
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (context.getExecutionException().isPresent()) {
      print("after " + context.getDisplayName() + " failed");
    }
  }

  private void print(String when) {
    for (Supplier<String> source : sources) {
      System.err.println("=== logs " + when + "\n" + source.get());
    }
  }
}
