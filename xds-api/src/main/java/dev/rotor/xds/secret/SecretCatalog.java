package dev.rotor.xds.secret;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Any;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import dev.rotor.xds.CertificateInfo;
import dev.rotor.xds.Resource;
import dev.rotor.xds.ResourceVersions;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every secret one identity snapshot can serve, by the names Envoy may ask for, encoded once.
 * Immutable; built when the gate passes a snapshot and shared by all streams.
 *
 * <p>Names, as SPIRE's agent serves them: the default-SVID alias ({@code default}) and each
 * SVID's SPIFFE ID; the own-bundle alias ({@code ROOTCA}), the all-bundles alias ({@code ALL})
 * and {@code spiffe://<trust-domain>} for the own and each federated trust domain. An alias is a
 * resource of its own (Envoy requires {@code secret.name} to equal the requested name), so
 * aliases of the same identity work together on one stream.
 */
public final class SecretCatalog {

  /** A catalog with nothing in it: what is served before the first identity passes the gate. */
  public static final SecretCatalog EMPTY = new SecretCatalog("", Map.of(), List.of());

  private final String snapshotVersion;
  private final Map<ValidationForm, Map<String, Resource>> byForm;
  private final Map<ValidationForm, List<Resource>> wildcardByForm;
  /**
   * name → the SPIFFE ID whose private key the secret of that name carries, for every secret that
   * carries one (each SVID by its ID, and the default-SVID alias). Any other name is a bundle.
   */
  private final Map<String, String> keyHolders;

  private SecretCatalog(String snapshotVersion, Map<String, Resource> plain, List<Resource> plainWildcard) {
    this.snapshotVersion = snapshotVersion;
    this.byForm = new EnumMap<>(ValidationForm.class);
    this.wildcardByForm = new EnumMap<>(ValidationForm.class);
    for (ValidationForm f : ValidationForm.values()) {
      byForm.put(f, plain);
      wildcardByForm.put(f, plainWildcard);
    }
    this.keyHolders = Map.of();
  }

  private SecretCatalog(String snapshotVersion, Map<ValidationForm, Map<String, Resource>> byForm,
      Map<ValidationForm, List<Resource>> wildcardByForm, Map<String, String> keyHolders) {
    this.snapshotVersion = snapshotVersion;
    this.byForm = byForm;
    this.wildcardByForm = wildcardByForm;
    this.keyHolders = keyHolders;
  }

  public static SecretCatalog build(IdentitySnapshot snapshot, SecretNaming naming) {
    return build(snapshot, naming, requireNonNull(snapshot, "snapshot").ownTrustDomain());
  }

  /**
   * As {@link #build(IdentitySnapshot, SecretNaming)}, with the trust domain whose bundle the
   * own-bundle alias names given explicitly: a snapshot whose SVIDs were withdrawn at expiry has
   * no default SVID to tell it, yet its bundles, and the alias Envoy knows them by, still hold.
   */
  public static SecretCatalog build(IdentitySnapshot snapshot, SecretNaming naming, Optional<TrustDomain> ownTrustDomain) {
    requireNonNull(snapshot, "snapshot");
    requireNonNull(naming, "naming");
    requireNonNull(ownTrustDomain, "ownTrustDomain");
    Map<ValidationForm, Map<String, Resource>> byForm = new EnumMap<>(ValidationForm.class);
    Map<ValidationForm, List<Resource>> wildcard = new EnumMap<>(ValidationForm.class);

    // TLS certificates do not depend on the validation form: build them once.
    Map<String, Resource> certs = new LinkedHashMap<>();
    List<Resource> wildcardCerts = new ArrayList<>();
    for (Svid svid : snapshot.svids()) {
      String id = svid.spiffeId().toString();
      if (!certs.containsKey(id)) { // several SVIDs may share an ID (hints): the first wins, as in SPIRE
        Resource r = certificate(id, svid);
        certs.put(id, r);
        wildcardCerts.add(r);
      }
    }
    snapshot.defaultSvid().ifPresent(s -> certs.put(naming.defaultSvidName(), certificate(naming.defaultSvidName(), s)));
    // Every secret with a key is in certs, and only there: what a caller may hold follows from it.
    Map<String, String> keyHolders = new LinkedHashMap<>();
    certs.forEach((name, r) -> keyHolders.put(name, r.certificate().orElseThrow().spiffeId()));

    for (ValidationForm form : ValidationForm.values()) {
      Map<String, Resource> names = new LinkedHashMap<>();
      List<Resource> wild = new ArrayList<>();
      Optional<TrustDomain> own = ownTrustDomain;
      for (TrustBundle b : snapshot.bundles().values()) {
        if (b.authorities().isEmpty()) {
          continue; // an empty bundle validates nothing: never serve one
        }
        String tdName = b.trustDomain().toIdString();
        Resource r = validation(tdName, List.of(b), form);
        names.put(tdName, r);
        wild.add(r);
        if (own.isPresent() && own.get().equals(b.trustDomain())) {
          names.put(naming.defaultBundleName(), validation(naming.defaultBundleName(), List.of(b), form));
        }
      }
      List<TrustBundle> nonEmpty = snapshot.bundles().values().stream().filter(b -> !b.authorities().isEmpty()).toList();
      if (form == ValidationForm.SPIFFE_VALIDATOR && !nonEmpty.isEmpty()) {
        names.put(naming.allBundlesName(), validation(naming.allBundlesName(), nonEmpty, form));
      }
      names.putAll(certs);
      wild.addAll(wildcardCerts);
      byForm.put(form, Collections.unmodifiableMap(names));
      wildcard.put(form, List.copyOf(wild));
    }
    return new SecretCatalog(snapshot.version(), byForm, wildcard, Map.copyOf(keyHolders));
  }

  /** The secret with this name, in this validation form, if the snapshot has it. */
  public Optional<Resource> get(String name, ValidationForm form) {
    return Optional.ofNullable(byForm.get(form).get(name));
  }

  /**
   * What a request with no names gets, as from SPIRE's agent: each bundle by
   * {@code spiffe://<trust-domain>} and each SVID by its SPIFFE ID, no aliases.
   */
  public List<Resource> wildcard(ValidationForm form) {
    return wildcardByForm.get(form);
  }

  /**
   * As {@link #get(String, ValidationForm)}, for a caller entitled to the private key of {@code
   * keyHolder} only: a secret that carries another SPIFFE ID's key is not there for it, whatever
   * name it is asked by ({@code default} included). Bundles are public: every one is there.
   */
  public Optional<Resource> get(String name, ValidationForm form, SpiffeId keyHolder) {
    return mayHold(name, keyHolder) ? get(name, form) : Optional.empty();
  }

  /** As {@link #wildcard(ValidationForm)}, cut to what a caller entitled to {@code keyHolder}'s key may receive. */
  public List<Resource> wildcard(ValidationForm form, SpiffeId keyHolder) {
    List<Resource> all = wildcardByForm.get(form);
    List<Resource> out = new ArrayList<>(all.size());
    for (Resource r : all) {
      if (mayHold(r.name(), keyHolder)) {
        out.add(r);
      }
    }
    return out;
  }

  private boolean mayHold(String name, SpiffeId keyHolder) {
    String holder = keyHolders.get(name);
    return holder == null || holder.equals(keyHolder.toString());
  }

  /**
   * True when {@code name} is served in some validation form but not in {@code form}: the
   * all-bundles alias, which only the SPIFFE validator can express, asked for by an Envoy that gets
   * {@code trusted_ca} contexts.
   */
  public boolean onlyInOtherForms(String name, ValidationForm form) {
    return !byForm.get(form).containsKey(name) && byForm.values().stream().anyMatch(m -> m.containsKey(name));
  }

  /** True before the first identity passed the gate. */
  public boolean isEmpty() {
    return byForm.values().stream().allMatch(Map::isEmpty);
  }

  /** All names served in this form, for diagnostics. */
  public List<String> names(ValidationForm form) {
    return List.copyOf(byForm.get(form).keySet());
  }

  /** The version of the identity snapshot this catalog was built from ("" when empty). */
  public String snapshotVersion() {
    return snapshotVersion;
  }

  private static Resource certificate(String name, Svid svid) {
    Secret secret = SecretBuilder.tlsCertificate(name, svid);
    Any body = Any.pack(secret);
    return new Resource(name, ResourceVersions.of(body), body, Optional.of(
        new CertificateInfo(svid.spiffeId().toString(), svid.serialHex(), svid.notAfter())));
  }

  private static Resource validation(String name, List<TrustBundle> bundles, ValidationForm form) {
    Any body = Any.pack(SecretBuilder.validationContext(name, bundles, form));
    return new Resource(name, ResourceVersions.of(body), body, Optional.empty());
  }
}
