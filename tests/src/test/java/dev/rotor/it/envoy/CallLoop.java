package dev.rotor.it.envoy;

import dev.rotor.testkit.clients.PlainClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;

/**
 * An application calling through its Envoy at a fixed period, one new connection per call, for as
 * long as a test runs something under it (a rotation, a Rotor restart, a policy edit). Every
 * answer but the expected status is a failure, kept with its time.
 */
final class CallLoop implements AutoCloseable {
  /** One call's outcome. */
  record Answer(Instant at, int status) {}

  private final IntSupplier call;
  private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "call-loop");
    t.setDaemon(true);
    return t;
  });
  private final ConcurrentLinkedQueue<Answer> answers = new ConcurrentLinkedQueue<>();
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicReference<Answer> last = new AtomicReference<>();

  private CallLoop(IntSupplier call) {
    this.call = call;
  }

  /** Calls {@code GET path} through the Envoy listener on {@code port} every {@code period}. */
  static CallLoop start(int port, String path, Duration period) {
    CallLoop loop = new CallLoop(() -> PlainClient.httpStatus(port, path));
    loop.loop.scheduleWithFixedDelay(loop::callOnce, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    return loop;
  }

  private void callOnce() {
    Answer answer = new Answer(Instant.now(), call.getAsInt());
    answers.add(answer);
    last.set(answer);
    calls.incrementAndGet();
  }

  int calls() {
    return calls.get();
  }

  /** The most recent answer, or null before the first. */
  Answer last() {
    return last.get();
  }

  /** Answers other than {@code expected}, in order. */
  List<Answer> answersOtherThan(int expected) {
    return answers.stream().filter(a -> a.status() != expected).toList();
  }

  /** The first answer at or after {@code since} with {@code status}, if any yet. */
  java.util.Optional<Answer> firstSince(Instant since, int status) {
    return answers.stream().filter(a -> !a.at().isBefore(since) && a.status() == status).findFirst();
  }

  @Override
  public void close() throws InterruptedException {
    loop.shutdown();
    loop.awaitTermination(15, TimeUnit.SECONDS);
  }
}
