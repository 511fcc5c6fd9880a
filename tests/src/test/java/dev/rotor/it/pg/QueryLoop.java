package dev.rotor.it.pg;

import static java.util.Objects.requireNonNull;

import java.math.BigInteger;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link SqlClient#query()} at a fixed period on one thread of its own and keeps count: how
 * many queries succeeded, the first failures (time and message), and every client certificate
 * serial PostgreSQL reported, in the order first seen. All counts are guarded by {@code this}.
 */
public final class QueryLoop implements AutoCloseable {
  /** A failed query: when it started and what it threw. */
  public record Failure(Instant at, String message) {}

  private static final int KEPT_FAILURES = 20;

  private final SqlClient client;
  private final ScheduledExecutorService executor;
  private int succeeded;
  private int failed;
  private final List<Failure> failures = new ArrayList<>();
  private final Set<BigInteger> clientSerials = new LinkedHashSet<>();
  private final Set<String> users = new LinkedHashSet<>();

  private QueryLoop(SqlClient client) {
    this.client = client;
    this.executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "query-loop-" + client.name());
      thread.setDaemon(true);
      return thread;
    });
  }

  /** Starts querying through {@code client} every {@code period} (fixed delay between queries). */
  public static QueryLoop start(SqlClient client, Duration period) {
    QueryLoop loop = new QueryLoop(requireNonNull(client, "client"));
    loop.executor.scheduleWithFixedDelay(loop::queryOnce, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    return loop;
  }

  private void queryOnce() {
    Instant started = Instant.now();
    try {
      SqlClient.Answer answer = client.query();
      synchronized (this) {
        succeeded++;
        clientSerials.add(answer.clientSerial());
        users.add(answer.user());
      }
    } catch (SQLException | RuntimeException e) {
      synchronized (this) {
        failed++;
        if (failures.size() < KEPT_FAILURES) {
          failures.add(new Failure(started, describe(e)));
        }
      }
    }
  }

  public synchronized int succeeded() {
    return succeeded;
  }

  public synchronized int failed() {
    return failed;
  }

  public synchronized List<Failure> failures() {
    return List.copyOf(failures);
  }

  /** Client certificate serials PostgreSQL reported, in the order first seen. */
  public synchronized List<BigInteger> clientSerials() {
    return List.copyOf(clientSerials);
  }

  /** The database users the queries ran as ({@code current_user}). */
  public synchronized Set<String> users() {
    return Set.copyOf(users);
  }

  public synchronized String summary() {
    return client.name() + ": " + succeeded + " succeeded, " + failed + " failed"
        + (failures.isEmpty() ? "" : ", first failures: " + failures);
  }

  /** Stops querying and waits for a query in flight (bounded). Does not close the client. */
  @Override
  public void close() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(20, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The exception and its causes, one line. */
  static String describe(Throwable e) {
    StringBuilder out = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (out.length() > 0) {
        out.append(" <- ");
      }
      out.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
      if (t.getCause() == t) {
        break;
      }
    }
    return out.toString();
  }
}
