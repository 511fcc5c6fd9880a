package dev.rotor.sds;

import static java.util.Objects.requireNonNull;

import dev.rotor.protocol.Caller;
import dev.rotor.protocol.TypeView;
import dev.rotor.protocol.XdsState;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.ValidationForm;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.spiffe.spiffeid.SpiffeId;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/** What Rotor serves over SDS at one moment: the secret catalog of the identity the gate passed. */
public record SecretState(long generation, long changedAtNanos, SecretCatalog catalog, boolean spiffeValidationDisabled)
    implements XdsState {

  public SecretState {
    requireNonNull(catalog, "catalog");
  }

  public static SecretState initial(boolean spiffeValidationDisabled) {
    return new SecretState(0, System.nanoTime(), SecretCatalog.EMPTY, spiffeValidationDisabled);
  }

  @Override
  public Set<String> typeUrls() {
    return Set.of(TypeUrls.SECRET);
  }

  /**
   * A pod-local caller sees the whole catalog. A remote (TCP) caller sees every bundle but only the
   * secrets that carry its own SPIFFE ID's key: the catalog cuts by key holder, so an alias such as
   * {@code default} is there for it only when it resolves to the caller's own SVID.
   */
  @Override
  public TypeView view(String typeUrl, Node node, Caller caller) {
    if (!TypeUrls.SECRET.equals(typeUrl)) {
      return TypeView.empty(false);
    }
    ValidationForm form = ValidationForms.forNode(node, spiffeValidationDisabled);
    Function<String, String> whyAbsent = name -> whyAbsent(name, form, node);
    if (caller instanceof Caller.PodLocal) {
      return new SecretView(name -> catalog.get(name, form), () -> catalog.wildcard(form), whyAbsent);
    }
    SpiffeId holder = ((Caller.Remote) caller).spiffeId(); // fails closed should Caller gain a kind
    return new SecretView(name -> catalog.get(name, form, holder), () -> catalog.wildcard(form, holder), whyAbsent);
  }

  /**
   * What is actually missing when a subscribed secret is absent. An Envoy older than 1.18 asking
   * for {@code ALL} was told the name "does not exist (yet)"; it never will for that Envoy: one
   * context for several trust domains needs the SPIFFE validator.
   */
  private String whyAbsent(String name, ValidationForm form, Node node) {
    if (catalog.onlyInOtherForms(name, form)) {
      return "\"" + name + "\" (every trust domain's bundle in one validation context) needs Envoy's SPIFFE"
          + " certificate validator, and this Envoy gets trusted_ca contexts: "
          + ValidationForms.whyTrustedCa(node, spiffeValidationDisabled).orElse("its validation form")
          + "; it is never served to this Envoy (ask for each trust domain's bundle, spiffe://<trust-domain>, or"
          + " use Envoy 1.18 or later without disable_spiffe_cert_validation)";
    }
    if (catalog.isEmpty()) {
      return "no identity has passed the gate yet; it will be pushed when one does";
    }
    if (name.startsWith("spiffe://") && name.indexOf('/', "spiffe://".length()) < 0) {
      return "Rotor holds no bundle of that trust domain (not the own trust domain, and the agent sent no federated"
          + " bundle for it: is the workload's entry federated with it?); it will be pushed when it appears";
    }
    if (name.startsWith("spiffe://")) {
      return "Rotor holds no SVID with that SPIFFE ID for this caller (the agent issued none: check the registration"
          + " entry's selectors); it will be pushed when it appears";
    }
    return "the current identity has no secret of that name (names: default, ROOTCA, ALL, spiffe://<trust-domain>"
        + " and each SVID's SPIFFE ID, or as renamed by --default-svid-name and its siblings); it will be pushed if"
        + " it appears";
  }

  /** SDS is not a full-state type (xds-protocol rule 10). */
  private record SecretView(Function<String, Optional<Resource>> byName, Supplier<List<Resource>> all,
      Function<String, String> whyAbsentFn) implements TypeView {

    @Override
    public String whyAbsent(String name) {
      return whyAbsentFn.apply(name);
    }

    @Override
    public Optional<Resource> get(String name) {
      return byName.apply(name);
    }

    @Override
    public List<Resource> wildcard() {
      return all.get();
    }

    @Override
    public boolean fullState() {
      return false;
    }
  }
}
