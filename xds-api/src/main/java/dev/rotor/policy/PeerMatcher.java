package dev.rotor.policy;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;

/**
 * Which authenticated peers (by the SPIFFE ID in their X.509-SVID's URI SAN) a rule's {@code
 * from} entry admits. A rule matches a peer if any of its entries does.
 */
public sealed interface PeerMatcher permits PeerMatcher.Exact, PeerMatcher.InTrustDomain, PeerMatcher.IdPrefix {

  /** Whether the peer with this SPIFFE ID is matched. */
  boolean matches(SpiffeId peer);

  /**
   * A short description for explanations and logs, in the file's own terms: the ID itself, {@code
   * trustDomain partner.org} or {@code spiffeIdPrefix spiffe://example.org/ns/demo/}.
   */
  String describe();

  /** The trust domain the matcher is about (every peer it matches is in it). */
  TrustDomain trustDomain();

  /** YAML {@code spiffeId}: exactly one SPIFFE ID. */
  record Exact(SpiffeId id) implements PeerMatcher {
    public Exact {
      requireNonNull(id, "id");
      PolicyValues.require(PolicyValues.spiffeId(id), "id");
    }

    @Override
    public boolean matches(SpiffeId peer) {
      return id.equals(peer);
    }

    @Override
    public String describe() {
      return id.toString();
    }

    @Override
    public TrustDomain trustDomain() {
      return id.getTrustDomain();
    }
  }

  /** YAML {@code trustDomain}: any SPIFFE ID in the trust domain (e.g. a federated partner). */
  record InTrustDomain(TrustDomain trustDomain) implements PeerMatcher {
    public InTrustDomain {
      requireNonNull(trustDomain, "trustDomain");
    }

    @Override
    public boolean matches(SpiffeId peer) {
      return peer.memberOf(trustDomain);
    }

    @Override
    public String describe() {
      return "trustDomain " + trustDomain.getName();
    }
  }

  /**
   * YAML {@code spiffeIdPrefix}: any SPIFFE ID whose string form starts with {@code prefix}, a full
   * string such as {@code spiffe://example.org/ns/demo/}. The prefix ends with '/', so it matches
   * whole path segments only ({@code .../ns/demo/} never matches {@code .../ns/demo-2/x}).
   */
  record IdPrefix(String prefix) implements PeerMatcher {
    public IdPrefix {
      requireNonNull(prefix, "prefix");
      PolicyValues.require(PolicyValues.idPrefix(prefix), "prefix");
    }

    @Override
    public boolean matches(SpiffeId peer) {
      return peer.toString().startsWith(prefix);
    }

    @Override
    public String describe() {
      return "spiffeIdPrefix " + prefix;
    }

    @Override
    public TrustDomain trustDomain() {
      String rest = prefix.substring("spiffe://".length());
      return TrustDomain.parse(rest.substring(0, rest.indexOf('/')));
    }
  }
}
