package dev.rotor.sds;

import static java.util.Objects.requireNonNull;

import dev.rotor.protocol.TypeView;
import dev.rotor.protocol.XdsState;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.ValidationForm;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.util.List;
import java.util.Optional;
import java.util.Set;

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

  @Override
  public TypeView view(String typeUrl, Node node) {
    if (!TypeUrls.SECRET.equals(typeUrl)) {
      return TypeView.empty(false);
    }
    ValidationForm form = ValidationForms.forNode(node, spiffeValidationDisabled);
    return new TypeView() {
      @Override
      public Optional<Resource> get(String name) {
        return catalog.get(name, form);
      }

      @Override
      public List<Resource> wildcard() {
        return catalog.wildcard(form);
      }

      @Override
      public boolean fullState() {
        return false;
      }
    };
  }
}
