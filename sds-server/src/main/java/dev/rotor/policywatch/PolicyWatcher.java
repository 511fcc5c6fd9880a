package dev.rotor.policywatch;

import static java.util.Objects.requireNonNull;

import dev.rotor.policy.Policy;
import dev.rotor.policy.PolicyError;
import dev.rotor.policy.PolicyException;
import dev.rotor.policy.PolicyParser;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the policy in force in step with the policy file: reads it at {@link #start()}, then polls
 * it; a valid new version (new {@link Policy#contentVersion()}) is published to the {@link
 * Listener}, an invalid one is logged, counted and reported, and the last good policy stays in
 * force.
 *
 * <p><b>Watching, and polling behind it.</b> A {@link WatchService} (inotify on Linux) on the
 * directory that holds the file, and on the directory of the file it resolves to, wakes a poll
 * {@link #SETTLE} after the first change it reports, so an edit reaches Envoy in tens of
 * milliseconds instead of at the next poll (a 1 s poll cost up to a second per edit). The settle
 * time lets an editor that truncates and then writes finish before the file is read. Kubernetes
 * updates a mounted ConfigMap by writing a new {@code ..2026_...} directory and atomically renaming
 * a {@code ..data} symlink in the file's directory, which the directory watch sees. Polling stays,
 * as the fallback: a file system without inotify (some network and FUSE mounts), a watch that
 * could not be registered, an event queue that overflowed, a symlink chain through a third
 * directory. Reading a file of a few kilobytes once a second is cheap and bounded, catches in-place
 * writes, replacement by rename and symlink swaps alike, and runs on an injected scheduler, so
 * tests drive it with a fake clock.
 *
 * <p><b>What counts as a change.</b> Each poll resolves the symlinks and reads the file; its
 * fingerprint is the real path, size, modification time and SHA-256 of the bytes. Only new bytes
 * are parsed (a {@code touch} is not); only a new content version is published (a change of
 * comments or whitespace is not). The digest matters: an in-place write of the same size within
 * the file system's timestamp granularity changes neither size nor mtime.
 *
 * <p><b>Nothing stops the polling.</b> A periodic task that throws is cancelled by its scheduler
 * without a word; a 6 KB policy nested 3,000 levels deep once did that with a StackOverflowError,
 * and every later edit was ignored while {@code /readyz} stayed 200 (issue 13, finding 9). So any
 * {@link Throwable} in a poll is a rejected version (logged and counted, the last good policy stays),
 * and {@link #problem()} reports a watcher that stopped or stalls, for {@code /readyz}.
 *
 * <p><b>Threads.</b> {@link #start()} runs on the caller's thread and schedules the poll;
 * afterwards the fingerprint fields are touched only by polls, which hold {@link #pollLock}: the
 * periodic one and those the directory watch wakes never run at once. The watch has a daemon
 * thread of its own that only schedules polls. {@link #current()}, {@link #rejectedCount()} and {@link #problem()}
 * may be read from any thread. Listener calls come from the scheduler's thread, one at a time.
 */
public final class PolicyWatcher implements AutoCloseable {

  /** How often {@code rotor serve} polls the policy file unless told otherwise. */
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger(PolicyWatcher.class);

  /**
   * A poll that has not completed for this many poll intervals (and at least {@link #MIN_STALL})
   * makes the watcher a {@link #problem()}: it stopped, or hangs reading the file.
   */
  static final int STALL_INTERVALS = 10;
  static final Duration MIN_STALL = Duration.ofSeconds(30);

  /** How long after the first change the directory watch reports the file is read. */
  static final Duration SETTLE = Duration.ofMillis(30);

  /** Turns the file's text into a policy; {@link PolicyParser#parse} outside tests. */
  @FunctionalInterface
  interface Parser {
    Policy parse(String fileName, String text) throws PolicyException;
  }

  /** Receives policy changes; called from the scheduler's thread. */
  public interface Listener {
    /** A valid policy with a new content version is now in force. */
    void onPolicy(Policy p);

    /** A new version of the file was rejected (or could not be read); the previous policy stays. */
    void onRejected(List<PolicyError> errors);
  }

  private final Path file;
  private final ScheduledExecutorService scheduler;
  private final Duration pollInterval;
  private final Listener listener;
  private final Clock clock;
  private final Parser parser;

  private final AtomicReference<Policy> current = new AtomicReference<>();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicReference<ScheduledFuture<?>> task = new AtomicReference<>();
  private volatile boolean closed;
  /** When the last poll finished, however it ended (start() counts as one). */
  private volatile Instant lastPollEnded;

  /** Held by every poll: the periodic one and those the directory watch wakes never overlap. */
  private final Object pollLock = new Object();
  /** A poll the directory watch asked for and that has not started yet (coalesces bursts of events). */
  private final java.util.concurrent.atomic.AtomicBoolean wakePending = new java.util.concurrent.atomic.AtomicBoolean();
  private volatile WatchService watchService;

  // Guarded by pollLock (and owned by start() before the task is scheduled).
  private PolicyFile.Fingerprint lastSeen;
  /** Why the last poll could not read the file, so a file that stays missing is reported once. */
  private String lastReadFailure;

  /**
   * @param clock tells a stalled watcher from a working one ({@link #problem()}); the scheduler's
   *     own clock in tests
   */
  public PolicyWatcher(Path file, ScheduledExecutorService scheduler, Duration pollInterval, Listener listener,
      Clock clock) {
    this(file, scheduler, pollInterval, listener, clock, PolicyParser::parse);
  }

  PolicyWatcher(Path file, ScheduledExecutorService scheduler, Duration pollInterval, Listener listener, Clock clock,
      Parser parser) {
    this.file = requireNonNull(file, "file");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.pollInterval = requireNonNull(pollInterval, "pollInterval");
    this.listener = requireNonNull(listener, "listener");
    this.clock = requireNonNull(clock, "clock");
    this.parser = requireNonNull(parser, "parser");
    if (pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("pollInterval: " + pollInterval + " (expected: > 0)");
    }
  }

  /**
   * Reads and parses the file and starts polling it. The returned policy is in force; the listener
   * is not called for it, only for later changes.
   *
   * @throws PolicyException if the file is not a valid policy (so {@code rotor serve} can refuse
   *     to start, printing every error)
   * @throws IOException if the file cannot be read
   */
  public Policy start() throws PolicyException, IOException {
    if (closed || current.get() != null) {
      throw new IllegalStateException("start() called twice or after close()");
    }
    PolicyFile read = PolicyFile.read(file);
    Policy first = parser.parse(file.toString(), read.text());
    lastSeen = read.fingerprint();
    current.set(first);
    lastPollEnded = clock.instant();
    log.atInfo().addKeyValue("file", file).addKeyValue("version", first.contentVersion())
        .log("policy loaded");
    long nanos = pollInterval.toNanos();
    task.set(scheduler.scheduleWithFixedDelay(this::pollSafely, nanos, nanos, TimeUnit.NANOSECONDS));
    watchDirectories();
    return first;
  }

  /**
   * Registers the directory watch on the file's directory and on its resolved target's directory.
   * Best effort: where it cannot be registered, polling alone keeps the policy in step.
   */
  private void watchDirectories() {
    try {
      WatchService service = file.getFileSystem().newWatchService();
      java.util.Set<Path> dirs = new java.util.LinkedHashSet<>();
      dirs.add(file.toAbsolutePath().getParent());
      try {
        dirs.add(file.toRealPath().getParent());
      } catch (IOException e) {
        // the file is read already; its target's directory is only a second place to watch
      }
      for (Path dir : dirs) {
        dir.register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
            StandardWatchEventKinds.ENTRY_DELETE);
      }
      watchService = service;
      Thread thread = new Thread(() -> wakeOnChanges(service), "rotor-policy-watch");
      thread.setDaemon(true);
      thread.start();
      log.atDebug().addKeyValue("directories", dirs.stream().map(Path::toString).toList())
          .log("watching the policy file's directories; polling stays as the fallback");
    } catch (IOException | UnsupportedOperationException e) {
      log.atInfo().addKeyValue("file", file).addKeyValue("poll_interval", pollInterval.toString())
          .addKeyValue("error", e.toString()).log("cannot watch the policy file's directory; polling it only");
    }
  }

  /** The watch thread: each batch of events schedules one poll {@link #SETTLE} later. */
  private void wakeOnChanges(WatchService service) {
    try {
      while (!closed) {
        WatchKey key = service.take();
        key.pollEvents(); // which name changed does not matter: the poll compares the file itself
        key.reset();
        if (wakePending.compareAndSet(false, true)) {
          scheduler.schedule(() -> {
            wakePending.set(false);
            pollSafely();
          }, SETTLE.toNanos(), TimeUnit.NANOSECONDS);
        }
      }
    } catch (InterruptedException | java.nio.file.ClosedWatchServiceException e) {
      // closed
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // the scheduler is shutting down with Rotor
    } catch (RuntimeException e) {
      log.atWarn().setCause(e).log("the policy directory watch stopped; polling keeps the policy in step");
    }
  }

  /** The policy in force: the last valid version read. */
  public Policy current() {
    Policy p = current.get();
    if (p == null) {
      throw new IllegalStateException("start() has not succeeded yet");
    }
    return p;
  }

  /** How many new versions of the file were rejected (or could not be read) since start. */
  public long rejectedCount() {
    return rejected.get();
  }

  /**
   * Why this watcher no longer keeps the policy in step with the file, for {@code /readyz}: its
   * poll task ended (it should run until {@link #close()}), or no poll has completed for {@value
   * #STALL_INTERVALS} intervals (at least {@link #MIN_STALL}). Empty while it works, before {@link
   * #start()} and after {@link #close()}.
   */
  public Optional<String> problem() {
    ScheduledFuture<?> t = task.get();
    Instant last = lastPollEnded;
    if (closed || t == null || last == null) {
      return Optional.empty();
    }
    if (t.isDone()) {
      return Optional.of("--policy " + file + ": the policy watcher stopped; edits to the file are no longer"
          + " applied (see the log; restart Rotor)");
    }
    Duration stall = pollInterval.multipliedBy(STALL_INTERVALS);
    if (stall.compareTo(MIN_STALL) < 0) {
      stall = MIN_STALL;
    }
    Duration since = Duration.between(last, clock.instant());
    if (since.compareTo(stall) > 0) {
      return Optional.of("--policy " + file + ": no poll of the file completed for " + since.toSeconds()
          + "s (expected one every " + pollInterval.toMillis() + "ms); edits are not being applied");
    }
    return Optional.empty();
  }

  /** Stops polling. The policy in force stays readable. */
  @Override
  public void close() {
    closed = true;
    ScheduledFuture<?> t = task.getAndSet(null);
    if (t != null) {
      t.cancel(false);
    }
    WatchService service = watchService;
    if (service != null) {
      try {
        service.close();
      } catch (IOException e) {
        // nothing more to release
      }
    }
  }

  /**
   * A periodic task that throws is never run again, so nothing may escape a poll, an Error
   * included: whatever a version of the file makes the parser throw, it is that version's rejection,
   * not the end of policy reloads.
   */
  private void pollSafely() {
    synchronized (pollLock) {
      pollSafelyLocked();
    }
  }

  private void pollSafelyLocked() {
    try {
      poll();
    } catch (Throwable e) {
      try {
        log.atError().addKeyValue("file", file).setCause(e).log("policy poll failed; will retry");
        reject(List.of(new PolicyError(file.toString(), "", "cannot be read or parsed: " + e.getClass().getName()
            + " (see the log)")));
      } catch (Throwable ignored) {
        // even logging failed (out of memory?): the next poll tries again
      }
    } finally {
      lastPollEnded = clock.instant();
    }
  }

  private void poll() {
    if (closed) {
      return;
    }
    PolicyFile read;
    try {
      read = PolicyFile.read(file);
    } catch (IOException e) {
      String why = describe(e);
      if (!why.equals(lastReadFailure)) {
        lastReadFailure = why;
        lastSeen = null;
        reject(List.of(new PolicyError(file.toString(), "", "cannot read the policy file: " + why)));
      }
      return;
    }
    lastReadFailure = null;
    PolicyFile.Fingerprint fingerprint = read.fingerprint();
    if (fingerprint.equals(lastSeen)) {
      return;
    }
    boolean sameBytes = lastSeen != null && lastSeen.digest().equals(fingerprint.digest());
    lastSeen = fingerprint;
    if (sameBytes) {
      return; // touched, or re-linked to identical content: nothing to parse
    }
    Policy next;
    try {
      next = parser.parse(file.toString(), read.text());
    } catch (PolicyException e) {
      reject(e.errors());
      return;
    }
    Policy previous = current.get();
    if (next.contentVersion().equals(previous.contentVersion())) {
      log.atDebug().addKeyValue("file", file).addKeyValue("version", next.contentVersion())
          .log("policy file changed but its content version did not");
      return;
    }
    current.set(next);
    log.atInfo().addKeyValue("file", file).addKeyValue("version", next.contentVersion())
        .addKeyValue("previous_version", previous.contentVersion()).log("policy updated");
    try {
      listener.onPolicy(next);
    } catch (Throwable e) {
      log.atError().addKeyValue("file", file).addKeyValue("version", next.contentVersion()).setCause(e)
          .log("policy listener failed; the new policy is in force regardless");
    }
  }

  private void reject(List<PolicyError> errors) {
    rejected.incrementAndGet();
    List<String> lines = errors.stream().map(PolicyError::toString).toList();
    log.atWarn().addKeyValue("file", file)
        .addKeyValue("version_in_force", current.get().contentVersion())
        .addKeyValue("errors", lines)
        .log("policy rejected, the previous version stays in force:\n  {}", String.join("\n  ", lines));
    try {
      listener.onRejected(errors);
    } catch (Throwable e) {
      log.atError().addKeyValue("file", file).setCause(e).log("policy listener failed on a rejection");
    }
  }

  private static String describe(IOException e) {
    // A bare IOException is one of ours and says it all; a subclass's name is part of the story
    // (NoSuchFileException's message is only the path).
    String name = e.getClass().getSimpleName();
    if (e.getMessage() == null) {
      return name;
    }
    return e.getClass() == IOException.class ? e.getMessage() : name + ": " + e.getMessage();
  }
}
