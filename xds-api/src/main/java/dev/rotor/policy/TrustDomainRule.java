package dev.rotor.policy;

import io.spiffe.spiffeid.TrustDomain;
import java.util.Optional;
import org.snakeyaml.engine.v2.nodes.Node;

/**
 * The file-level {@code trustDomain}: when set, every SPIFFE ID and ID prefix in the file must be
 * in it. A typo in a trust domain ({@code exmaple.org}) would otherwise only show up as a rule that
 * never matches or an upstream that is never accepted. The one way to name another trust domain is
 * a {@code from} entry {@code trustDomain: partner.org}, which says so explicitly.
 */
final class TrustDomainRule {

  private final Optional<TrustDomain> fileTrustDomain;

  TrustDomainRule(Optional<TrustDomain> fileTrustDomain) {
    this.fileTrustDomain = fileTrustDomain;
  }

  /** Reports {@code value} (at {@code path}) if it lies outside the file's trust domain. */
  void check(NodeReader r, Node node, String path, String value, TrustDomain actual, boolean inFrom) {
    if (fileTrustDomain.isEmpty() || fileTrustDomain.get().equals(actual)) {
      return;
    }
    String expected = "expected an ID in the file's trustDomain " + fileTrustDomain.get().getName();
    if (inFrom) {
      expected += "; to admit another trust domain, add a from entry \"trustDomain: " + actual.getName() + "\"";
    }
    r.error(node, path, PolicyValues.quote(value) + " is not in trust domain "
        + fileTrustDomain.get().getName() + " (" + expected + ")");
  }
}
