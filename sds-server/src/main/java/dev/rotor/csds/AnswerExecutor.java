package dev.rotor.csds;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where CSDS answers are computed: not on gRPC's executor (unbounded: four hostile requests held
 * both cores for minutes, and their work went on after the callers cancelled), but on a small
 * bounded pool, each answer within a time budget, and stopped at its next checkpoint once its call
 * is cancelled or past its deadline. A request that finds the pool and its queue full is refused at
 * once with RESOURCE_EXHAUSTED rather than queued without end.
 */
final class AnswerExecutor implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(AnswerExecutor.class);

  /** Longest an answer may take, whatever deadline the client set (or none). */
  static final Duration BUDGET = Duration.ofSeconds(5);

  /** CSDS is an operator's tool: one answer at a time, a few waiting. */
  static final int THREADS = 1;

  static final int QUEUE = 8;

  /** Called by an answer between units of work (each stream); throws to stop it. */
  @FunctionalInterface
  interface Checkpoint {
    /** @throws StatusRuntimeException CANCELLED or DEADLINE_EXCEEDED */
    void check();
  }

  private final ExecutorService executor;
  private final Duration budget;
  private final LongSupplier nanoTime;

  AnswerExecutor(ExecutorService executor, Duration budget, LongSupplier nanoTime) {
    this.executor = requireNonNull(executor, "executor");
    this.budget = requireNonNull(budget, "budget");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
  }

  /** The production pool: {@link #THREADS} daemon threads, {@link #QUEUE} waiting answers, the system clock. */
  static AnswerExecutor bounded() {
    return new AnswerExecutor(new ThreadPoolExecutor(THREADS, THREADS, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(QUEUE), new ThreadFactoryBuilder().setNameFormat("rotor-csds-%d").setDaemon(true).build(),
        new ThreadPoolExecutor.AbortPolicy()), BUDGET, System::nanoTime);
  }

  /**
   * Runs {@code answer} for the call whose context is {@code call}; {@code failed} gets the status
   * it ended with if it threw one, was stopped at a checkpoint, or could not be queued.
   */
  void submit(Context call, Consumer<Checkpoint> answer, Consumer<StatusRuntimeException> failed) {
    long deadline = nanoTime.getAsLong() + budget.toNanos();
    Checkpoint checkpoint = () -> {
      if (call.isCancelled()) {
        throw Status.CANCELLED.withDescription("the CSDS call was cancelled").asRuntimeException();
      }
      if (nanoTime.getAsLong() - deadline >= 0) {
        throw Status.DEADLINE_EXCEEDED.withDescription("the CSDS answer took longer than " + budget.toSeconds()
            + "s; narrow node_matchers").asRuntimeException();
      }
    };
    try {
      executor.execute(() -> {
        try {
          checkpoint.check(); // it may have waited in the queue past its deadline, or been cancelled there
          answer.accept(checkpoint);
        } catch (StatusRuntimeException e) {
          tell(failed, e);
        } catch (RuntimeException e) {
          if (call.isCancelled()) {
            return; // the answer raced the cancellation: nobody is listening
          }
          log.atError().setCause(e).log("CSDS answer failed");
          tell(failed, Status.INTERNAL.withDescription("internal error").asRuntimeException());
        }
      });
    } catch (RejectedExecutionException e) {
      tell(failed, Status.RESOURCE_EXHAUSTED.withDescription("too many CSDS requests in progress (at most "
          + (THREADS + QUEUE) + "); retry later").asRuntimeException());
    }
  }

  private static void tell(Consumer<StatusRuntimeException> failed, StatusRuntimeException status) {
    try {
      failed.accept(status);
    } catch (RuntimeException callAlreadyGone) {
      // cancelled meanwhile: there is no one to tell
    }
  }

  /** Stops the pool; answers under way see their calls cancelled at shutdown. */
  @Override
  public void close() {
    executor.shutdownNow();
  }
}
