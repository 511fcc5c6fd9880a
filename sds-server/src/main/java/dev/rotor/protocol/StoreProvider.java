package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Where a caller's streams read what is served: one store for every caller (a pod-local or a
 * central Rotor), or, in node mode, the store of the caller's attested workload, which exists
 * while some stream holds it. Asked once per stream (and per fetch), when it opens: never on a push.
 */
@FunctionalInterface
public interface StoreProvider {

  /**
   * The store {@code caller}'s new stream reads, held until the lease is released.
   *
   * @throws io.grpc.StatusRuntimeException when the caller may have no store (fails the call)
   */
  Lease acquire(Caller caller);

  /** The same store for every caller, nothing to release. */
  static StoreProvider single(ResourceStore store) {
    requireNonNull(store, "store");
    CompletableFuture<Void> ready = CompletableFuture.completedFuture(null);
    return caller -> new Lease(store, () -> {}, ready);
  }

  /** A store held by one stream (or fetch) until {@link #release()}. */
  final class Lease {
    private final ResourceStore store;
    private final Runnable onRelease;
    private final CompletableFuture<Void> ready;
    private final AtomicBoolean released = new AtomicBoolean();

    /**
     * @param onRelease run once, at the first {@link #release()}
     * @param ready completes when the store first holds the caller's identity (at once where the
     *     store is not per caller); a one-shot fetch waits for it, a stream need not
     */
    public Lease(ResourceStore store, Runnable onRelease, CompletableFuture<Void> ready) {
      this.store = requireNonNull(store, "store");
      this.onRelease = requireNonNull(onRelease, "onRelease");
      this.ready = requireNonNull(ready, "ready");
    }

    public ResourceStore store() {
      return store;
    }

    public CompletableFuture<Void> ready() {
      return ready;
    }

    /** Gives the store back; idempotent. */
    public void release() {
      if (released.compareAndSet(false, true)) {
        onRelease.run();
      }
    }
  }
}
