package dev.rotor.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.rotor.identity.Svid;
import dev.rotor.protocol.Caller;
import dev.rotor.protocol.StoreProvider.Lease;
import dev.rotor.status.RotationConvergence;
import dev.rotor.xds.CertificateInfo;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.secret.SecretNaming;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.spiffe.spiffeid.SpiffeId;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NodeWorkloadsTest {

  private static final String FRONTEND = "spiffe://example.org/ns/demo/sa/frontend";
  private static final String BACKEND = "spiffe://example.org/ns/demo/sa/backend";
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final FakeAgent agent = new FakeAgent();
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final List<Long> disconnected = new CopyOnWriteArrayList<>();
  private NodeWorkloads workloads;
  private NodeBundles bundles;

  @BeforeEach
  void setUp() {
    NodeServing serving = new NodeServing(SecretNaming.SPIRE_DEFAULTS, false, Optional.empty(), Clock.systemUTC(),
        scheduler, List::of, new RotationConvergence.Recorder() {
          @Override
          public void converged(double seconds) {}

          @Override
          public void ended(String outcome) {}
        });
    workloads = new NodeWorkloads(agent.client, serving);
    workloads.disconnectWith(disconnected::add);
    bundles = new NodeBundles(agent.client, scheduler, dev.rotor.source.workload.Backoff.withDefaults(new java.util.Random(1)),
        workloads::bundlesChanged);
    bundles.start();
    await("the node's bundles").atMost(WAIT).until(() -> !bundles.current().isEmpty());
  }

  @AfterEach
  void tearDown() throws Exception {
    bundles.close();
    workloads.closeAll();
    agent.close();
    scheduler.shutdownNow();
  }

  @Test
  void oneSubscriptionPerWorkload_sharedByItsStreams_closedWithTheLastStream() {
    agent.api.issue(pid(), FRONTEND);
    Caller.Attested first = caller(1, pid(), FRONTEND);
    Caller.Attested second = caller(2, pid(), FRONTEND);

    Lease a = workloads.acquire(first);
    Lease b = workloads.acquire(first);
    Lease c = workloads.acquire(second);

    assertThat(a.store()).isSameAs(b.store()).isSameAs(c.store());
    await("one SVID subscription").atMost(WAIT).until(() -> agent.api.openSvidStreams() == 1);
    a.release();
    c.release();
    assertThat(agent.api.openSvidStreams()).as("still held by one stream").isEqualTo(1);
    b.release();
    await("the subscription closed with the last stream").atMost(WAIT).until(() -> agent.api.openSvidStreams() == 0);
    assertThat(workloads.statuses()).isEmpty();
  }

  @Test
  void eachWorkload_servesItsOwnSvid_andNotAnothers() {
    agent.api.issue(pid(), FRONTEND);
    Caller.Attested frontend = caller(1, pid(), FRONTEND);
    Lease f = workloads.acquire(frontend);
    awaitDefault(f, frontend, FRONTEND);
    agent.api.issue(pid(), BACKEND);
    Caller.Attested backend = caller(2, pid(), BACKEND);
    Lease b = workloads.acquire(backend);

    assertThat(awaitDefault(b, backend, BACKEND)).isNotNull();
    assertThat(f.store()).isNotSameAs(b.store());
    // Defence in depth: even handed another workload's store, a caller sees no key of another identity.
    assertThat(b.store().current().view(TypeUrls.SECRET, Node.getDefaultInstance(), frontend).get("default")).isEmpty();
    assertThat(b.store().current().view(TypeUrls.SECRET, Node.getDefaultInstance(), frontend).get("ROOTCA"))
        .as("bundles are public").isPresent();
  }

  @Test
  void rotation_reachesTheWorkloadsStore() {
    agent.api.issue(pid(), FRONTEND);
    Caller.Attested frontend = caller(1, pid(), FRONTEND);
    Lease f = workloads.acquire(frontend);
    CertificateInfo before = awaitDefault(f, frontend, FRONTEND);

    Svid rotated = agent.api.issue(pid(), FRONTEND).get(0);

    await("the rotated SVID in the store").atMost(WAIT).until(() ->
        defaultOf(f, frontend).map(CertificateInfo::serialHex).orElse("").equals(rotated.serialHex()));
    assertThat(rotated.serialHex()).isNotEqualTo(before.serialHex());
  }

  @Test
  void changedIdentities_retireTheWorkload_andCloseItsConnections_toAttestEachAgain() {
    agent.api.issue(pid(), FRONTEND);
    Caller.Attested frontend = caller(7, pid(), FRONTEND);
    Lease f = workloads.acquire(frontend);
    CertificateInfo served = awaitDefault(f, frontend, FRONTEND);

    agent.api.issue(pid(), FRONTEND, BACKEND); // an entry was added: not what connection 7 was attested with

    await("connection 7 closed").atMost(WAIT).until(() -> disconnected.contains(7L));
    assertThat(workloads.statuses()).as("retired").isEmpty();
    assertThat(defaultOf(f, frontend)).as("the new identities are never served to the old attestation")
        .map(CertificateInfo::serialHex).contains(served.serialHex());
    await().atMost(WAIT).until(() -> agent.api.openSvidStreams() == 0);
  }

  @Test
  void whenTheProcessSubscribedWith_leaves_theSubscriptionMovesToAnotherProcessOfTheWorkload() throws Exception {
    Process other = new ProcessBuilder("sleep", "60").start();
    try {
      int otherPid = (int) other.pid();
      agent.api.issue(otherPid, FRONTEND);
      agent.api.issue(pid(), FRONTEND);
      Lease first = workloads.acquire(caller(1, otherPid, FRONTEND));
      await().atMost(WAIT).until(() -> agent.api.openSvidStreamPids().equals(List.of(otherPid)));
      Lease second = workloads.acquire(caller(2, pid(), FRONTEND));

      first.release();

      await("the subscription moved to pid " + pid()).atMost(WAIT)
          .until(() -> agent.api.openSvidStreamPids().equals(List.of(pid())));
      assertThat(workloads.statuses().get(0).handovers()).isEqualTo(1);
      second.release();
    } finally {
      other.destroyForcibly();
    }
  }

  /** SPIRE's rule for delegates: an answer for a PID that may have changed hands is discarded. */
  @Test
  void answerWhileTheAnchorProcessIsGone_isDiscarded_andTheSubscriptionMoves() {
    AtomicReference<Optional<String>> anchorLiveness = new AtomicReference<>(Optional.empty());
    int ghostPid = 999_999;
    agent.api.issue(ghostPid, FRONTEND);
    Svid forTheLive = agent.api.issue(pid(), FRONTEND).get(0);
    Caller.Attested anchor = new Caller.Attested(List.of(SpiffeId.parse(FRONTEND)),
        new Caller.Process(1, ghostPid, "pid=" + ghostPid, anchorLiveness::get));
    Caller.Attested live = caller(2, pid(), FRONTEND);
    Lease a = workloads.acquire(anchor);
    Lease l = workloads.acquire(live);
    CertificateInfo first = awaitDefault(l, live, FRONTEND);
    assertThat(agent.api.openSvidStreamPids()).containsExactly(ghostPid);
    List<String> published = new CopyOnWriteArrayList<>();
    l.store().addListener(() -> defaultOf(l, live).ifPresent(c -> published.add(c.serialHex())));

    anchorLiveness.set(Optional.of("process " + ghostPid + " exited"));
    Svid forTheGhost = agent.api.issue(ghostPid, FRONTEND).get(0); // comes on the anchor's stream

    await("the subscription moved to the live process").atMost(WAIT)
        .until(() -> agent.api.openSvidStreamPids().equals(List.of(pid())));
    await("the live process's answer served").atMost(WAIT).until(() ->
        defaultOf(l, live).map(CertificateInfo::serialHex).orElse("").equals(forTheLive.serialHex()));
    assertThat(first.serialHex()).as("served first: the anchor's first answer").isNotEqualTo(forTheLive.serialHex());
    assertThat(agent.api.requestedPids).containsExactly(ghostPid, pid());
    assertThat(published).as("every `default` published after the anchor's process went").contains(forTheLive.serialHex())
        .doesNotContain(forTheGhost.serialHex());
    a.release();
    l.release();
  }

  @Test
  void aCallerThatIsNotAttested_getsNoStore() {
    assertThatThrownBy(() -> workloads.acquire(new Caller.PodLocal("uid=1 gid=1 pid=1")))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
  }

  private static CertificateInfo awaitDefault(Lease lease, Caller.Attested caller, String expectedId) {
    AtomicReference<CertificateInfo> found = new AtomicReference<>();
    await("`default` of " + expectedId + " in the workload's store").atMost(WAIT).until(() -> {
      Optional<CertificateInfo> c = defaultOf(lease, caller);
      c.ifPresent(found::set);
      return c.isPresent();
    });
    assertThat(found.get().spiffeId()).isEqualTo(expectedId);
    return found.get();
  }

  private static Optional<CertificateInfo> defaultOf(Lease lease, Caller.Attested caller) {
    return lease.store().current().view(TypeUrls.SECRET, Node.getDefaultInstance(), caller).get("default")
        .flatMap(Resource::certificate);
  }

  private static Caller.Attested caller(long connection, int pid, String... ids) {
    return new Caller.Attested(java.util.Arrays.stream(ids).map(SpiffeId::parse).toList(),
        new Caller.Process(connection, pid, "pid=" + pid, Optional::empty));
  }

  private static int pid() {
    return (int) ProcessHandle.current().pid();
  }
}
