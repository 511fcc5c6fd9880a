package dev.rotor.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.rotor.transport.PeerAttestor.Attestation;
import dev.rotor.transport.PeerAttestor.Attested;
import dev.rotor.transport.PeerAttestor.Refused;
import dev.rotor.transport.PeerAttestor.Unavailable;
import dev.rotor.transport.PeerIdentity.UnixPeer;
import dev.rotor.transport.PeerProcess;
import io.grpc.Status;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PidAttestorTest {

  private static final String A = "spiffe://example.org/ns/demo/sa/frontend";

  private final FakeAgent agent = new FakeAgent();
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final PidAttestor attestor = new PidAttestor(agent.client, scheduler, Duration.ofSeconds(5), Optional.empty());

  @AfterEach
  void tearDown() throws Exception {
    agent.close();
    scheduler.shutdownNow();
  }

  @Test
  void registeredProcess_isAttestedWithItsIds_andTheCallIsClosedAfterTheFirstAnswer() throws Exception {
    agent.api.issue(selfPid(), A);

    Attestation a = attest(attestor, self());

    assertThat(a).isEqualTo(new Attested(List.of(SpiffeId.parse(A))));
    assertThat(agent.api.requestedPids).containsExactly(selfPid());
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.api.openSvidStreams() == 0);
    assertThat(attestor.outcomes()).containsEntry("attested", 1L);
  }

  @Test
  void processSpireIssuesNothingTo_isRefused() throws Exception {
    Attestation a = attest(attestor, self());

    assertThat(a).isInstanceOfSatisfying(Refused.class,
        r -> assertThat(r.reason()).contains("no registration entry matches it").contains("pid=" + selfPid()));
    assertThat(attestor.outcomes()).containsEntry("refused", 1L);
  }

  @Test
  void agentRefusingRotorAsADelegate_isUnavailable_notTheCallersFault() throws Exception {
    agent.api.refuseWith = Status.PERMISSION_DENIED.withDescription("caller not configured as an authorized delegate");

    Attestation a = attest(attestor, self());

    assertThat(a).isInstanceOfSatisfying(Unavailable.class,
        u -> assertThat(u.reason()).contains("does not accept this Rotor as a delegate"));
  }

  @Test
  void agentThatNeverAnswers_isUnavailableAfterTheTimeout() throws Exception {
    agent.api.silent = true;
    PidAttestor quick = new PidAttestor(agent.client, scheduler, Duration.ofMillis(300), Optional.empty());

    Attestation a = attest(quick, self());

    assertThat(a).isInstanceOfSatisfying(Unavailable.class, u -> assertThat(u.reason()).contains("within 300 ms"));
    await().atMost(Duration.ofSeconds(5)).until(() -> agent.api.openSvidStreams() == 0);
  }

  @Test
  void identityOutsideTheTrustDomain_isRefused() throws Exception {
    agent.api.issue(selfPid(), A);
    PidAttestor other = new PidAttestor(agent.client, scheduler, Duration.ofSeconds(5),
        Optional.of(TrustDomain.parse("other.org")));

    assertThat(attest(other, self())).isInstanceOfSatisfying(Refused.class,
        r -> assertThat(r.reason()).contains("outside trust domain other.org"));
  }

  /** SPIRE attests the PID when the call opens; an answer that comes after the process is gone is thrown away. */
  @Test
  void processThatExitsBeforeTheAnswer_isRefused_evenThoughSpireAnswers() throws Exception {
    Process child = new ProcessBuilder("sleep", "60").start();
    try {
      int pid = (int) child.pid();
      PeerProcess process = PeerProcess.open(pid, uid(), gid());
      agent.api.silent = true;
      var pending = attestor.attest(new UnixPeer(uid(), gid(), pid), process);
      await().atMost(Duration.ofSeconds(5)).until(() -> agent.api.openSvidStreams() == 1);
      child.destroyForcibly().waitFor(5, TimeUnit.SECONDS);

      agent.api.issue(pid, A); // the answer arrives now, for a process that no longer exists

      assertThat(pending.get(5, TimeUnit.SECONDS)).isInstanceOfSatisfying(Refused.class,
          r -> assertThat(r.reason()).contains("changed during attestation").contains("exited"));
      process.close();
    } finally {
      child.destroyForcibly();
    }
  }

  private static Attestation attest(PidAttestor attestor, PeerProcess process) throws Exception {
    return attestor.attest(new UnixPeer(uid(), gid(), selfPid()), process).get(10, TimeUnit.SECONDS);
  }

  static PeerProcess self() throws Exception {
    return PeerProcess.open(selfPid(), uid(), gid());
  }

  static int selfPid() {
    return (int) ProcessHandle.current().pid();
  }

  static int uid() throws Exception {
    return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
  }

  static int gid() throws Exception {
    return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
  }
}
