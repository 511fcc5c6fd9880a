package dev.rotor.node;

import com.google.protobuf.ByteString;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.source.dev.DevCa;
import dev.rotor.spire.api.agent.delegatedidentity.v1.DelegatedIdentityGrpc;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509BundlesRequest;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509BundlesResponse;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509SVIDsRequest;
import dev.rotor.spire.api.agent.delegatedidentity.v1.SubscribeToX509SVIDsResponse;
import dev.rotor.spire.api.agent.delegatedidentity.v1.X509SVIDWithKey;
import dev.rotor.spire.api.types.SPIFFEID;
import dev.rotor.spire.api.types.X509SVID;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A fake SPIRE agent Delegated Identity API for unit tests: what it "attests" each PID as is set by
 * the test ({@link #issue}); it records the PIDs it is asked about and the streams that are open,
 * and pushes new answers to open streams as the real agent does on rotation. Not SPIRE: the real
 * one runs in the end-to-end tests (tests/, NodeModeIT).
 */
public final class FakeDelegatedIdentity extends DelegatedIdentityGrpc.DelegatedIdentityImplBase {

  static final TrustDomain TD = TrustDomain.parse("example.org");

  final DevCa ca = new DevCa(TD, Duration.ofDays(1), Duration.ZERO, Clock.systemUTC());
  /** The PIDs SubscribeToX509SVIDs was called with, in order. */
  final List<Integer> requestedPids = new CopyOnWriteArrayList<>();
  private final Map<Integer, List<Svid>> issued = new ConcurrentHashMap<>();
  private final Map<ServerCallStreamObserver<SubscribeToX509SVIDsResponse>, Integer> svidStreams = new ConcurrentHashMap<>();
  private final List<ServerCallStreamObserver<SubscribeToX509BundlesResponse>> bundleStreams = new CopyOnWriteArrayList<>();
  /** When set, every call is refused with it (e.g. PERMISSION_DENIED: Rotor not an authorized delegate). */
  volatile Status refuseWith;
  /** When true, SVID calls are accepted and never answered. */
  volatile boolean silent;

  /** From now on {@code pid} is attested with fresh SVIDs for {@code ids} (none: unregistered); open streams get them. */
  public List<Svid> issue(int pid, String... ids) {
    List<Svid> svids = new ArrayList<>();
    for (String id : ids) {
      svids.add(ca.issue(SpiffeId.parse(id), Duration.ofHours(1)));
    }
    issued.put(pid, svids);
    svidStreams.forEach((stream, p) -> {
      if (p == pid) {
        synchronized (stream) {
          stream.onNext(answer(svids));
        }
      }
    });
    return svids;
  }

  /**
   * From now on a new call for {@code pid} is answered with fresh SVIDs for {@code ids}; streams
   * already open keep what they had (one process seen as two workloads, one after the other).
   */
  public void attestNextAs(int pid, String... ids) {
    List<Svid> svids = new ArrayList<>();
    for (String id : ids) {
      svids.add(ca.issue(SpiffeId.parse(id), Duration.ofHours(1)));
    }
    issued.put(pid, svids);
  }

  /** SVID streams open now (not cancelled by Rotor). */
  public int openSvidStreams() {
    svidStreams.keySet().removeIf(ServerCallStreamObserver::isCancelled);
    return svidStreams.size();
  }

  /** PIDs of the SVID streams open now. */
  List<Integer> openSvidStreamPids() {
    openSvidStreams();
    return List.copyOf(svidStreams.values());
  }

  @Override
  public void subscribeToX509SVIDs(SubscribeToX509SVIDsRequest request,
      StreamObserver<SubscribeToX509SVIDsResponse> responses) {
    requestedPids.add(request.getPid());
    if (refuseWith != null) {
      responses.onError(refuseWith.asRuntimeException());
      return;
    }
    ServerCallStreamObserver<SubscribeToX509SVIDsResponse> stream =
        (ServerCallStreamObserver<SubscribeToX509SVIDsResponse>) responses;
    svidStreams.put(stream, request.getPid());
    stream.setOnCancelHandler(() -> svidStreams.remove(stream));
    if (!silent) {
      synchronized (stream) {
        stream.onNext(answer(issued.getOrDefault(request.getPid(), List.of())));
      }
    }
  }

  @Override
  public void subscribeToX509Bundles(SubscribeToX509BundlesRequest request,
      StreamObserver<SubscribeToX509BundlesResponse> responses) {
    if (refuseWith != null) {
      responses.onError(refuseWith.asRuntimeException());
      return;
    }
    ServerCallStreamObserver<SubscribeToX509BundlesResponse> stream =
        (ServerCallStreamObserver<SubscribeToX509BundlesResponse>) responses;
    bundleStreams.add(stream);
    stream.setOnCancelHandler(() -> bundleStreams.remove(stream));
    stream.onNext(bundles(ca.bundle()));
  }

  static SubscribeToX509SVIDsResponse answer(List<Svid> svids) {
    SubscribeToX509SVIDsResponse.Builder b = SubscribeToX509SVIDsResponse.newBuilder();
    for (Svid s : svids) {
      X509SVID.Builder x = X509SVID.newBuilder()
          .setId(SPIFFEID.newBuilder().setTrustDomain(s.spiffeId().getTrustDomain().getName()).setPath(s.spiffeId().getPath()))
          .setExpiresAt(s.notAfter().getEpochSecond());
      for (X509Certificate c : s.chain()) {
        x.addCertChain(der(c));
      }
      b.addX509Svids(X509SVIDWithKey.newBuilder().setX509Svid(x)
          .setX509SvidKey(ByteString.copyFrom(s.privateKey().getEncoded())));
    }
    return b.build();
  }

  static SubscribeToX509BundlesResponse bundles(TrustBundle... bundles) {
    SubscribeToX509BundlesResponse.Builder b = SubscribeToX509BundlesResponse.newBuilder();
    for (TrustBundle bundle : bundles) {
      ByteString all = ByteString.EMPTY;
      for (X509Certificate c : bundle.authorities()) {
        all = all.concat(der(c));
      }
      b.putCaCertificates(bundle.trustDomain().toIdString(), all);
    }
    return b.build();
  }

  private static ByteString der(X509Certificate c) {
    try {
      return ByteString.copyFrom(c.getEncoded());
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }
}
