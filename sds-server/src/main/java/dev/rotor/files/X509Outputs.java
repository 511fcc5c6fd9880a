package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import dev.rotor.files.HelperConfig.FileSettings;
import dev.rotor.files.HelperConfig.Pkcs12Output;
import dev.rotor.files.HelperConfig.X509Output;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Pem;
import dev.rotor.identity.Svid;
import dev.rotor.identity.TrustBundle;
import io.spiffe.spiffeid.TrustDomain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the X.509 files hold, from one served snapshot, as spiffe-helper writes them: the SVID file
 * is the leaf then its intermediates (PEM), the key file the PKCS#8 key (PEM), the bundle file the
 * authorities of the SVID's trust domain; {@code add_intermediates_to_bundle} moves the
 * intermediates from the SVID file to the end of the bundle file; {@code
 * include_federated_domains} appends every other trust domain's authorities (by trust domain
 * name); {@code omit_expired} drops certificates past their not-after from both. Optionally the
 * key as PKCS#8 DER and a PKCS#12 keystore.
 *
 * <p>Pure apart from the keystore's random salt. The digest covers the bytes of every
 * deterministic file and what the keystore is made of, so equal digests mean nothing to publish.
 */
final class X509Outputs {

  /**
   * Alias of the key entry in the PKCS#12 keystore: {@code user}, because pgjdbc's PKCS#12 key
   * manager (42.7.x) looks the client key up under that alias only and otherwise sends no client
   * certificate. Other Java clients pick the only key entry whatever its alias.
   */
  static final String KEY_ALIAS = "user";

  /** The files to publish and the digest of their content. */
  record Rendered(List<OutputFile> files, String digest, Svid svid) {
    Rendered {
      files = List.copyOf(files);
    }
  }

  /** Why nothing can be written for a snapshot (no SVID matches the hint, no bundle, ...). */
  static final class RenderException extends Exception {
    private static final long serialVersionUID = 1L;

    RenderException(String message) {
      super(message);
    }

    RenderException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private X509Outputs() {}

  /**
   * @param pkcs12Password the keystore password, when a keystore is configured
   */
  static Rendered render(IdentitySnapshot snapshot, X509Output out, FileSettings settings, String hint, Instant now,
      Optional<char[]> pkcs12Password) throws RenderException {
    requireNonNull(snapshot, "snapshot");
    Svid svid = select(snapshot, hint);
    TrustDomain td = svid.spiffeId().getTrustDomain();
    TrustBundle own = snapshot.bundle(td).orElseThrow(() -> new RenderException(
        "no trust bundle for " + td.getName() + ", the trust domain of " + svid.spiffeId()));

    List<X509Certificate> chain = new ArrayList<>(svid.chain());
    List<X509Certificate> bundle = new ArrayList<>(own.authorities());
    if (out.addIntermediatesToBundle()) {
      bundle.addAll(svid.intermediates());
      chain = new ArrayList<>(List.of(svid.leaf()));
    }
    if (out.includeFederatedDomains()) {
      for (Map.Entry<TrustDomain, TrustBundle> e : snapshot.bundles().entrySet()) { // sorted by name
        if (!e.getKey().equals(td)) {
          bundle.addAll(e.getValue().authorities());
        }
      }
    }
    if (out.omitExpired()) {
      chain.removeIf(c -> expired(c, now));
      bundle.removeIf(c -> expired(c, now));
    }

    byte[] keyPem;
    try {
      keyPem = Pem.privateKey(svid.privateKey());
    } catch (IllegalArgumentException e) {
      throw new RenderException("the key of " + svid.spiffeId() + " cannot be written: " + e.getMessage());
    }
    List<OutputFile> files = new ArrayList<>();
    files.add(new OutputFile(out.svidFileName(), Pem.certificates(chain), settings.cert()));
    files.add(new OutputFile(out.keyFileName(), keyPem, settings.key()));
    files.add(new OutputFile(out.bundleFileName(), Pem.certificates(bundle), settings.cert()));
    out.pkcs8DerKeyFileName().ifPresent(n -> files.add(new OutputFile(n, svid.privateKey().getEncoded(),
        settings.key())));

    Hasher h = Hashing.sha256().newHasher();
    for (OutputFile f : files) {
      h.putString(f.name(), StandardCharsets.UTF_8).putInt(f.content().length).putBytes(f.content());
    }
    if (out.pkcs12().isPresent()) {
      Pkcs12Output p12 = out.pkcs12().get();
      char[] password = pkcs12Password.orElse(Pkcs12Output.DEFAULT_PASSWORD.toCharArray());
      // The keystore's salt is random: its bytes differ on every run, so the digest covers what it
      // is made of (the full chain is in the SVID and bundle files already) and its password.
      h.putString(p12.fileName(), StandardCharsets.UTF_8)
          .putString("pkcs12:" + Hashing.sha256().hashString(new String(password), StandardCharsets.UTF_8),
              StandardCharsets.UTF_8);
      for (X509Certificate c : svid.chain()) {
        h.putBytes(der(c));
      }
      files.add(new OutputFile(p12.fileName(), pkcs12(svid, bundle, password), settings.key()));
    }
    return new Rendered(files, h.hash().toString(), svid);
  }

  private static Svid select(IdentitySnapshot snapshot, String hint) throws RenderException {
    if (snapshot.svids().isEmpty()) {
      throw new RenderException("the served identity has no SVID (all expired with no replacement); the files in"
          + " place are kept");
    }
    if (hint.isEmpty()) {
      return snapshot.svids().get(0);
    }
    for (Svid s : snapshot.svids()) {
      if (hint.equals(s.hint())) {
        return s;
      }
    }
    List<String> hints = snapshot.svids().stream().map(s -> s.hint().isEmpty() ? "(none)" : "\"" + s.hint() + "\"")
        .toList();
    throw new RenderException("hint: no SVID has hint \"" + hint + "\" (the agent's SVIDs have hints "
        + String.join(", ", hints) + "); nothing written");
  }

  private static byte[] pkcs12(Svid svid, List<X509Certificate> trusted, char[] password) throws RenderException {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry(KEY_ALIAS, svid.privateKey(), password, svid.chain().toArray(new Certificate[0]));
      for (int i = 0; i < trusted.size(); i++) {
        ks.setCertificateEntry("bundle-" + i, trusted.get(i));
      }
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      ks.store(bytes, password);
      return bytes.toByteArray();
    } catch (GeneralSecurityException | IOException e) {
      throw new RenderException("the PKCS#12 keystore cannot be built: " + e.getClass().getSimpleName(), e);
    }
  }

  private static boolean expired(X509Certificate c, Instant now) {
    return now.isAfter(c.getNotAfter().toInstant());
  }

  private static byte[] der(X509Certificate c) {
    try {
      return c.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException("certificate cannot be encoded: " + c.getSubjectX500Principal(), e);
    }
  }
}
