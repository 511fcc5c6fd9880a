package dev.rotor.protocol;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import io.spiffe.spiffeid.SpiffeId;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Who opened a stream, as the transport authenticated it, and so what the stream may receive
 * (docs/operations.md, "What each transport may receive"). Decided once, when the call starts, and
 * fixed for the stream's life: every view of the state the stream gets is cut to it, so a push costs
 * no per-caller decision.
 */
public sealed interface Caller permits Caller.PodLocal, Caller.Remote, Caller.Attested {

  /**
   * Why a caller was refused, as counted in {@code rotor_tcp_refusals_total{reason}} (TCP callers)
   * and {@code rotor_node_refusals_total{reason}} (attested callers).
   */
  String REFUSED_NODE_ID = "node_id";

  /** See {@link #REFUSED_NODE_ID}. */
  String REFUSED_CREDENTIALS_LAPSED = "credentials_lapsed";

  /**
   * What a caller is told when {@link #recheck()} says its credentials lapsed (the reason itself
   * goes to the operator's log only). Envoy reconnects on it, with a full handshake.
   */
  Status LAPSED = Status.UNAUTHENTICATED.withDescription(
      "client certificate no longer valid (expired, or its CA left the trust bundle); reconnect with a current SVID");

  /**
   * What an attested (node-mode) caller is told when its process no longer holds the PID SPIRE
   * attested: the connection's identity is void, a new one is attested from scratch.
   */
  Status PROCESS_GONE = Status.UNAUTHENTICATED.withDescription(
      "the process attested for this connection no longer holds its PID; reconnect to be attested again");

  /** For logs, status and CSDS, e.g. {@code uid=101 gid=101 pid=7} or a SPIFFE ID. */
  String describe();

  /**
   * Checks again what admitted the caller: empty while it still holds, else why not (for the log).
   * Cheap when nothing changed; the transport memoizes.
   */
  Optional<String> recheck();

  /**
   * A caller on the pod's own Unix socket, admitted by its UID: the pod's Envoy. It may receive
   * everything this Rotor holds for the pod (every SVID, every bundle, the workload its node id or
   * Rotor's own SPIFFE ID names, every stream in CSDS). A UID checked by the kernel does not lapse.
   */
  record PodLocal(String describe) implements Caller {
    public PodLocal {
      requireNonNull(describe, "describe");
    }

    @Override
    public Optional<String> recheck() {
      return Optional.empty();
    }
  }

  /**
   * A caller that proved {@code spiffeId} with mutual TLS (the TCP listener). It may receive key
   * material only of an SVID with exactly that ID, any bundle (bundles are public), the policy
   * workload whose {@code match.spiffeIds} has that ID, and only its own streams in CSDS.
   *
   * @param credentials re-verifies the caller's certificate chain against the bundles and time of
   *     now: empty while it verifies, else why not
   */
  record Remote(SpiffeId spiffeId, Supplier<Optional<String>> credentials) implements Caller {
    public Remote {
      requireNonNull(spiffeId, "spiffeId");
      requireNonNull(credentials, "credentials");
    }

    @Override
    public String describe() {
      return spiffeId.toString();
    }

    @Override
    public Optional<String> recheck() {
      return credentials.get();
    }

    /** True when {@code other} is a remote caller with the same SPIFFE ID (for CSDS: "its own streams"). */
    public boolean sameIdentity(Caller other) {
      return other instanceof Remote r && r.spiffeId.equals(spiffeId);
    }
  }

  /**
   * A caller on a node-mode Rotor's Unix socket whose process SPIRE's agent attested when it
   * connected (Delegated Identity API, by PID): it holds {@code spiffeIds} (SPIRE's order, the
   * first is its default) and may receive key material of those only, the bundles, the policy
   * workload whose {@code match.spiffeIds} has one of them, and only its own workload's streams in
   * CSDS. Its state comes from its workload's own store, never from another caller's.
   *
   * @param process the calling process: its PID (what SPIRE is asked about), the connection it came
   *     on, and a check that it is still the process attested
   */
  record Attested(List<SpiffeId> spiffeIds, Process process) implements Caller {
    public Attested {
      spiffeIds = List.copyOf(requireNonNull(spiffeIds, "spiffeIds"));
      if (spiffeIds.isEmpty()) {
        throw new IllegalArgumentException("spiffeIds: empty (expected: the attested identities)");
      }
      requireNonNull(process, "process");
    }

    /** The default attested identity: what status, logs and metrics name the caller by. */
    public SpiffeId spiffeId() {
      return spiffeIds.get(0);
    }

    @Override
    public String describe() {
      return spiffeIds.get(0) + " (" + process.describe() + ")";
    }

    /** Whether the attested process is still the one under its PID; an attestation does not outlive it. */
    @Override
    public Optional<String> recheck() {
      return process.liveness().get();
    }

    /** True when {@code other} is an attested caller of the same workload (the same identities). */
    public boolean sameIdentity(Caller other) {
      return other instanceof Attested a && a.spiffeIds.equals(spiffeIds);
    }
  }

  /**
   * The process behind an attested caller.
   *
   * @param connection the transport's number for the connection, unique per process run
   * @param describe e.g. {@code uid=4401 gid=4401 pid=812}
   * @param liveness empty while the attested process still holds its PID, else why not
   */
  record Process(long connection, int pid, String describe, Supplier<Optional<String>> liveness) {
    public Process {
      requireNonNull(describe, "describe");
      requireNonNull(liveness, "liveness");
    }
  }
}
