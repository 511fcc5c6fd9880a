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
   * secrets that carry its own SPIFFE ID's key, an attested (node-mode) caller those of its attested
   * IDs: the catalog cuts by key holder, so an alias such as
   * {@code default} is there for it only when it resolves to the caller's own SVID.
   */
  @Override
  public TypeView view(String typeUrl, Node node, Caller caller) {
    if (!TypeUrls.SECRET.equals(typeUrl)) {
      return TypeView.empty(false);
    }
    ValidationForm form = ValidationForms.forNode(node, spiffeValidationDisabled);
    if (caller instanceof Caller.PodLocal) {
      return new SecretView(name -> catalog.get(name, form), () -> catalog.wildcard(form));
    }
    if (caller instanceof Caller.Attested attested) {
      // Node mode: this state is the caller's workload's own; the cut is a second line of defence.
      Set<SpiffeId> holders = Set.copyOf(attested.spiffeIds());
      return new SecretView(name -> catalog.get(name, form, holders), () -> catalog.wildcard(form, holders));
    }
    SpiffeId holder = ((Caller.Remote) caller).spiffeId(); // fails closed should Caller gain a kind
    return new SecretView(name -> catalog.get(name, form, holder), () -> catalog.wildcard(form, holder));
  }

  /** SDS is not a full-state type (xds-protocol rule 10). */
  private record SecretView(Function<String, Optional<Resource>> byName, Supplier<List<Resource>> all)
      implements TypeView {
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
