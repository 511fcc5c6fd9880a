package dev.rotor.policy;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The content version of a policy: SHA-256 over a canonical encoding of the model, so only a
 * change in meaning (or in a rule's description, which explanations show) gives a new version.
 * Every field is written with a tag and strings are length-prefixed, so two different policies
 * cannot encode to the same bytes. Lists keep their order (rule order is meaningful); sets are
 * already sorted by {@link WorkloadMatch}.
 */
final class PolicyDigest {
  private PolicyDigest() {}

  static String of(int version, Optional<TrustDomain> trustDomain, List<Workload> workloads, Duration maxConnectionDuration) {
    Encoder e = new Encoder();
    e.tag("version").num(version);
    e.tag("trustDomain").str(trustDomain.map(TrustDomain::getName).orElse(""));
    e.tag("maxConnectionDuration").num((int) maxConnectionDuration.toSeconds());
    e.tag("workloads").num(workloads.size());
    for (Workload w : workloads) {
      e.tag("workload").str(w.name());
      e.tag("nodeIds").num(w.match().nodeIds().size());
      w.match().nodeIds().forEach(e::str);
      e.tag("spiffeIds").num(w.match().spiffeIds().size());
      w.match().spiffeIds().forEach(id -> e.str(id.toString()));
      e.tag("inbound").num(w.inbound().isPresent() ? 1 : 0);
      w.inbound().ifPresent(in -> {
        e.num(in.port()).num(in.appPort()).str(in.protocol().name());
        e.tag("rules").num(in.rules().size());
        for (Rule r : in.rules()) {
          e.tag("rule").num(r.index()).str(r.action().name());
          e.tag("from").num(r.from().size());
          for (PeerMatcher m : r.from()) {
            if (m instanceof PeerMatcher.Exact x) {
              e.str("exact").str(x.id().toString());
            } else if (m instanceof PeerMatcher.InTrustDomain t) {
              e.str("trustDomain").str(t.trustDomain().getName());
            } else if (m instanceof PeerMatcher.IdPrefix p) {
              e.str("prefix").str(p.prefix());
            } else {
              throw new AssertionError("unknown matcher " + m);
            }
          }
          e.tag("methods").num(r.methods().size());
          r.methods().forEach(e::str);
          e.tag("paths").num(r.paths().size());
          r.paths().forEach(p -> e.str(p.kind().name()).str(p.value()));
          e.tag("description").str(r.description());
        }
      });
      e.tag("outbound").num(w.outbound().size());
      for (Upstream u : w.outbound()) {
        e.tag("upstream").str(u.name()).num(u.localPort()).str(u.host()).num(u.port());
        e.num(u.spiffeIds().size());
        u.spiffeIds().stream().map(SpiffeId::toString).forEach(e::str);
      }
    }
    return e.hasher.hash().toString().substring(0, 16);
  }

  private static final class Encoder {
    final Hasher hasher = Hashing.sha256().newHasher();

    Encoder tag(String t) {
      hasher.putByte((byte) 'T');
      return str(t);
    }

    Encoder str(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      hasher.putByte((byte) 'S').putInt(b.length).putBytes(b);
      return this;
    }

    Encoder num(int n) {
      hasher.putByte((byte) 'N').putInt(n);
      return this;
    }
  }
}
