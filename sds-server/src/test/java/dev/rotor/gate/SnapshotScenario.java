package dev.rotor.gate;

import dev.rotor.gate.CertificateTestFixture.TestCa;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.source.dev.DevCa;
import dev.rotor.testing.FakeScheduler;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;

/**
 * A random, valid identity snapshot under construction, and the policy it satisfies: several
 * SVIDs, mostly from {@link DevCa}s (some issued before a CA rotation, so bundles hold two CAs), some
 * RSA or through an intermediate from {@link CertificateTestFixture}, with federated bundles. The
 * {@code break*} methods each break exactly one invariant of one SVID.
 *
 * <p>Times come from the {@link FakeScheduler}; everything is at whole seconds because certificate
 * validity has second precision.
 */
final class SnapshotScenario {

  private final Random rnd;
  private final FakeScheduler scheduler;
  private final TrustDomain own;
  private final List<TrustDomain> trustDomains = new ArrayList<>();
  private final Map<TrustDomain, DevCa> devCas = new LinkedHashMap<>();
  private final Map<TrustDomain, TestCa> fixtureRoots = new LinkedHashMap<>();
  private final Map<TrustDomain, Set<X509Certificate>> extraAuthorities = new LinkedHashMap<>();
  private final Set<TrustDomain> withoutBundle = new HashSet<>();
  private final List<Svid> svids = new ArrayList<>();
  /** How to issue SVID i again, later: same kind, same issuer, fresh times and key. */
  private final List<Function<SpiffeId, Svid>> issuers = new ArrayList<>();
  private Optional<TrustDomain> policyTrustDomain;
  private final Set<SpiffeId> expectedIds = new LinkedHashSet<>();
  private int nextId;

  private SnapshotScenario(Random rnd, FakeScheduler scheduler) {
    this.rnd = rnd;
    this.scheduler = scheduler;
    this.own = TrustDomain.parse("own" + rnd.nextInt(1000) + ".example");
    trustDomains.add(own);
  }

  /**
   * A random valid scenario. {@code requireTrustDomain}/{@code requireExpectedIds} force the policy
   * to restrict the trust domain / the SPIFFE IDs (for mutations that need the restriction).
   */
  static SnapshotScenario random(
      Random rnd, FakeScheduler scheduler, boolean requireTrustDomain, boolean requireExpectedIds) {
    SnapshotScenario s = new SnapshotScenario(rnd, scheduler);
    int federated = rnd.nextInt(3);
    for (int i = 0; i < federated; i++) {
      s.trustDomains.add(TrustDomain.parse("fed" + i + "-" + rnd.nextInt(1000) + ".example"));
    }
    s.policyTrustDomain = requireTrustDomain || rnd.nextBoolean() ? Optional.of(s.own) : Optional.empty();
    int count = 1 + rnd.nextInt(4);
    for (int k = 0; k < count; k++) {
      TrustDomain td = k == 0 || s.policyTrustDomain.isPresent()
          ? s.own
          : s.trustDomains.get(rnd.nextInt(s.trustDomains.size()));
      s.addValidSvid(td);
    }
    if (requireExpectedIds || rnd.nextBoolean()) {
      s.svids.forEach(v -> s.expectedIds.add(v.spiffeId()));
      int extras = rnd.nextInt(3);
      for (int i = 0; i < extras; i++) {
        s.expectedIds.add(s.newId(s.policyTrustDomain.orElse(s.own)));
      }
    }
    return s;
  }

  GatePolicy policy() {
    return new GatePolicy(policyTrustDomain, expectedIds);
  }

  IdentitySnapshot snapshot() {
    Map<TrustDomain, TrustBundle> bundles = new LinkedHashMap<>();
    for (TrustDomain td : trustDomains) {
      if (withoutBundle.contains(td)) {
        continue;
      }
      List<X509Certificate> authorities = new ArrayList<>(devCa(td).bundle().authorities());
      authorities.addAll(extraAuthorities.getOrDefault(td, Set.of()));
      bundles.put(td, TrustBundle.of(td, authorities));
    }
    return IdentitySnapshot.of(svids, bundles);
  }

  /** The same SVIDs (IDs, kinds, issuers) issued afresh at the scheduler's current time. */
  IdentitySnapshot reissued() {
    for (int i = 0; i < svids.size(); i++) {
      svids.set(i, issuers.get(i).apply(svids.get(i).spiffeId()));
    }
    return snapshot();
  }

  List<Svid> svids() {
    return List.copyOf(svids);
  }

  int randomSvidIndex() {
    return rnd.nextInt(svids.size());
  }

  // ---- mutations: each breaks exactly one invariant of SVID i ----

  void breakExpired(int i) {
    Instant notAfter = now().minusSeconds(rnd.nextInt(3600)); // 0 s ago included: not-after is the boundary
    replaceWithFixtureLeaf(i, b -> b.validity(notAfter.minus(Duration.ofHours(1)), notAfter));
  }

  void breakNotYetValid(int i) {
    Instant notBefore = now().plusSeconds(1 + rnd.nextInt(3600));
    replaceWithFixtureLeaf(i, b -> b.validity(notBefore, notBefore.plus(Duration.ofHours(1))));
  }

  void breakKeyBySwappingWithAnotherSvid(int i) {
    Svid victim = svids.get(i);
    Optional<Svid> donor = svids.stream()
        .filter(o -> !o.leaf().getPublicKey().equals(victim.leaf().getPublicKey()))
        .findFirst();
    if (donor.isEmpty()) {
      SpiffeId id = newId(victim.spiffeId().getTrustDomain());
      addValidSvid(victim.spiffeId().getTrustDomain(), id);
      if (!expectedIds.isEmpty()) {
        expectedIds.add(id);
      }
      donor = Optional.of(svids.get(svids.size() - 1));
    }
    svids.set(i, new Svid(victim.spiffeId(), victim.chain(), donor.get().privateKey(), victim.hint()));
  }

  /** Needs a policy trust domain. */
  void breakTrustDomain(int i) {
    TrustDomain other = trustDomains.stream().filter(td -> !td.equals(own)).findFirst().orElseGet(() -> {
      TrustDomain td = TrustDomain.parse("elsewhere" + rnd.nextInt(1000) + ".example");
      trustDomains.add(td);
      return td;
    });
    svids.set(i, devCa(other).issue(newId(other), Duration.ofHours(1)));
  }

  /** Needs expected SPIFFE IDs in the policy. */
  void breakExpectedId(int i) {
    TrustDomain td = svids.get(i).spiffeId().getTrustDomain();
    svids.set(i, devCa(td).issue(newId(td), Duration.ofHours(1)));
  }

  void breakChainWithAnUnknownCa(int i) {
    SpiffeId id = svids.get(i).spiffeId();
    DevCa rogue = new DevCa(id.getTrustDomain(), Duration.ofDays(30), Duration.ZERO, scheduler.clock());
    svids.set(i, rogue.issue(id, Duration.ofHours(1)));
  }

  void breakBundleByRemovingIt(int i) {
    withoutBundle.add(svids.get(i).spiffeId().getTrustDomain());
  }

  void breakConformanceWithCaLeaf(int i) {
    replaceWithFixtureLeaf(i, b -> b.ca(true));
  }

  void breakConformanceWithTwoUriSans(int i) {
    SpiffeId id = svids.get(i).spiffeId();
    replaceWithFixtureLeaf(i, b -> b.uriSans(id.toString(), newId(id.getTrustDomain()).toString()));
  }

  void breakConformanceWithOtherUriSan(int i) {
    SpiffeId id = svids.get(i).spiffeId();
    replaceWithFixtureLeaf(i, b -> b.uriSans(newId(id.getTrustDomain()).toString()));
  }

  void breakConformanceWithCertSignKeyUsage(int i) {
    replaceWithFixtureLeaf(i, b -> b.keyUsage(
        org.bouncycastle.asn1.x509.KeyUsage.digitalSignature | org.bouncycastle.asn1.x509.KeyUsage.keyCertSign));
  }

  void removeAllSvids() {
    svids.clear();
    issuers.clear();
  }

  // ---- construction ----

  private void addValidSvid(TrustDomain td) {
    addValidSvid(td, newId(td));
  }

  private void addValidSvid(TrustDomain td, SpiffeId id) {
    int kind = rnd.nextInt(10);
    Function<SpiffeId, Svid> issuer;
    if (kind == 0) {
      issuer = x -> CertificateTestFixture.leaf(fixtureRoot(td), x, now()).rsa()
          .validity(now().minusSeconds(30), now().plus(Duration.ofMinutes(10 + rnd.nextInt(1440)))).build();
    } else if (kind == 1) {
      TestCa intermediate = fixtureRoot(td).intermediate(now());
      issuer = x -> CertificateTestFixture.leaf(intermediate, x, now())
          .intermediates(intermediate.certificate()).build();
    } else {
      DevCa ca = devCa(td);
      if (rnd.nextInt(6) == 0) {
        ca.rotateCa(); // earlier SVIDs of this trust domain now verify only thanks to the overlap
      }
      // Each dev CA's clock lags the scheduler by up to 10 min: SVIDs issued a while ago, still valid.
      Duration ttl = Duration.ofMinutes(10 + rnd.nextInt(1440));
      List<String> dns = rnd.nextBoolean() ? List.of() : List.of("w" + nextId + ".svc.example");
      issuer = x -> ca.issue(x, ttl, dns);
    }
    svids.add(issuer.apply(id));
    issuers.add(issuer);
  }

  private DevCa devCa(TrustDomain td) {
    return devCas.computeIfAbsent(td, t -> {
      Duration lag = Duration.ofSeconds(rnd.nextInt(600));
      return new DevCa(t, Duration.ofDays(30), Duration.ofHours(1), Clock.offset(scheduler.clock(), lag.negated()));
    });
  }

  private TestCa fixtureRoot(TrustDomain td) {
    return fixtureRoots.computeIfAbsent(td, t -> {
      TestCa root = CertificateTestFixture.root(t, now());
      extraAuthorities.computeIfAbsent(t, x -> new LinkedHashSet<>()).add(root.certificate());
      return root;
    });
  }

  private void replaceWithFixtureLeaf(int i, Function<CertificateTestFixture.LeafBuilder, CertificateTestFixture.LeafBuilder> defect) {
    SpiffeId id = svids.get(i).spiffeId();
    svids.set(i, defect.apply(CertificateTestFixture.leaf(fixtureRoot(id.getTrustDomain()), id, now())).build());
  }

  private SpiffeId newId(TrustDomain td) {
    return td.newSpiffeId("ns", "n" + rnd.nextInt(3), "sa", "w" + nextId++);
  }

  private Instant now() {
    return scheduler.now();
  }
}
