package dev.rotor.node;

import static java.util.Objects.requireNonNull;

import dev.rotor.identity.TrustBundle;
import dev.rotor.source.workload.Backoff;
import dev.rotor.source.workload.MalformedResponseException;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509BundlesResponse;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's X.509 bundles from SPIRE's agent ({@code SubscribeToX509Bundles}): one stream for
 * every workload, re-opened with jittered backoff when it ends (the agent restarted), the last
 * bundles kept meanwhile. Each workload gets its own trust domain's bundle and those it federates
 * with, as its Workload API would give it.
 *
 * <p>Threads: the stream's state is owned by one {@link SynchronizationContext}; {@code onChange}
 * runs on it, one call at a time, in order.
 */
final class NodeBundles implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(NodeBundles.class);

  private final DelegatedIdentityClient client;
  private final ScheduledExecutorService scheduler;
  private final Consumer<Map<TrustDomain, TrustBundle>> onChange;
  private final SynchronizationContext sync = new SynchronizationContext(
      (thread, e) -> log.error("node bundles: unexpected failure", e));
  private final AtomicLong errors = new AtomicLong();
  private volatile Map<TrustDomain, TrustBundle> current = Map.of();
  private volatile Optional<String> problem = Optional.of("no bundles received from the SPIRE agent yet");

  // Owned by sync.
  private final Backoff backoff;
  private DelegatedIdentityClient.Subscription call;
  private SynchronizationContext.ScheduledHandle retry;
  private boolean closed;

  NodeBundles(DelegatedIdentityClient client, ScheduledExecutorService scheduler, Backoff backoff,
      Consumer<Map<TrustDomain, TrustBundle>> onChange) {
    this.client = requireNonNull(client, "client");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.backoff = requireNonNull(backoff, "backoff");
    this.onChange = requireNonNull(onChange, "onChange");
  }

  void start() {
    sync.execute(this::open);
  }

  /** The bundles as of the last answer; empty before the first. */
  Map<TrustDomain, TrustBundle> current() {
    return current;
  }

  /** Why the bundles may be stale or missing (no answer yet, or the stream is down); empty while it is up. */
  Optional<String> problem() {
    return problem;
  }

  /** Stream failures and unusable answers since start. */
  long errors() {
    return errors.get();
  }

  private void open() {
    retry = null;
    if (closed) {
      return;
    }
    DelegatedIdentityClient.Subscription[] self = new DelegatedIdentityClient.Subscription[1];
    try {
      self[0] = client.subscribeToBundles(new DelegatedIdentityClient.Responses<>() {
        @Override
        public void onMessage(SubscribeToX509BundlesResponse message) {
          sync.execute(() -> received(self[0], message));
        }

        @Override
        public void onClose(Status status) {
          sync.execute(() -> ended(self[0], status));
        }
      });
      call = self[0];
    } catch (RuntimeException e) {
      retryLater("cannot open SubscribeToX509Bundles: " + e);
    }
  }

  private void received(DelegatedIdentityClient.Subscription from, SubscribeToX509BundlesResponse message) {
    if (from != call || closed) {
      return;
    }
    Map<TrustDomain, TrustBundle> bundles;
    try {
      bundles = DelegatedSvids.bundles(message);
    } catch (MalformedResponseException e) {
      errors.incrementAndGet();
      log.warn("{}: unusable bundles from the SPIRE agent, keeping the last ones: {}", client.describe(), e.getMessage());
      return;
    }
    backoff.reset();
    problem = Optional.empty();
    if (bundles.equals(current)) {
      return;
    }
    current = Map.copyOf(bundles);
    log.atInfo().addKeyValue("trust_domains", bundles.keySet().stream().map(TrustDomain::getName).sorted().toList())
        .log("node bundles from the SPIRE agent");
    onChange.accept(current);
  }

  private void ended(DelegatedIdentityClient.Subscription from, Status status) {
    if (from != call || closed) {
      return;
    }
    call = null;
    retryLater("SubscribeToX509Bundles ended: " + status.getCode()
        + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")"));
  }

  private void retryLater(String reason) {
    errors.incrementAndGet();
    Duration delay = backoff.nextDelay();
    problem = Optional.of("SPIRE agent bundles: " + reason + "; the last bundles stay in force");
    log.warn("{}: {}; reconnecting in {} ms", client.describe(), reason, delay.toMillis());
    retry = sync.schedule(this::open, delay.toNanos(), TimeUnit.NANOSECONDS, scheduler);
  }

  @Override
  public void close() {
    sync.execute(() -> {
      closed = true;
      if (retry != null) {
        retry.cancel();
      }
      if (call != null) {
        call.cancel();
        call = null;
      }
    });
  }
}
