package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import com.google.common.hash.Hashing;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Presents Rotor's current default X.509-SVID in TLS handshakes. The SVID is read from the
 * supplier at every handshake, so a rotation applies to the next connection without rebuilding
 * any TLS context. With no SVID (or one whose key type the handshake cannot use) no alias is
 * chosen and the handshake fails: Rotor never falls back to some other certificate.
 *
 * <p>The JDK asks for an alias first and for the chain and key by alias afterwards, and the SVID
 * may rotate in between. Aliases are therefore derived from the leaf certificate's bytes, and the
 * few most recently chosen SVIDs are kept by alias, so chain and key always come from the SVID
 * that was chosen, never a mix of two.
 */
public final class SvidKeyManager extends X509ExtendedKeyManager {

  private static final Logger log = LoggerFactory.getLogger(SvidKeyManager.class);
  private static final int RECENT_ALIASES = 8;

  private final Supplier<Optional<IdentitySnapshot>> identities;

  /** Set once "no SVID" was logged, cleared when an SVID is there again: one warning per outage. */
  private volatile boolean reportedNoSvid;

  /** Alias → SVID for the most recently chosen SVIDs; guarded by itself. */
  private final Map<String, Svid> recent = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Svid> eldest) {
      return size() > RECENT_ALIASES;
    }
  };

  public SvidKeyManager(Supplier<Optional<IdentitySnapshot>> identities) {
    this.identities = requireNonNull(identities, "identities");
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return choose(keyType);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return choose(keyType);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
    return chooseAny(keyTypes);
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    return chooseAny(keyTypes);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    String alias = choose(keyType);
    return alias == null ? null : new String[] {alias};
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return getServerAliases(keyType, issuers);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return svidFor(alias).map(s -> s.chain().toArray(new X509Certificate[0])).orElse(null);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return svidFor(alias).map(Svid::privateKey).orElse(null);
  }

  private String chooseAny(String[] keyTypes) {
    if (keyTypes == null) {
      return null;
    }
    return Arrays.stream(keyTypes).map(this::choose).filter(a -> a != null).findFirst().orElse(null);
  }

  private String choose(String keyType) {
    Optional<Svid> svid = identities.get().flatMap(IdentitySnapshot::defaultSvid);
    if (svid.isEmpty()) {
      if (!reportedNoSvid) {
        reportedNoSvid = true;
        log.warn("failing TLS handshakes: there is no SVID to present yet");
      }
      return null;
    }
    reportedNoSvid = false;
    Svid current = svid.get();
    // The JDK asks once per key type it could use ("EC", "RSA", "RSASSA-PSS", ...); answer only
    // for the one that matches, so it picks a signature scheme our key can actually make.
    if (keyType == null || !keyType.equals(current.privateKey().getAlgorithm())) {
      return null;
    }
    String alias = aliasOf(current);
    synchronized (recent) {
      recent.put(alias, current);
    }
    return alias;
  }

  private Optional<Svid> svidFor(String alias) {
    if (alias == null) {
      return Optional.empty();
    }
    synchronized (recent) {
      Svid chosen = recent.get(alias);
      if (chosen != null) {
        return Optional.of(chosen);
      }
    }
    return identities.get().flatMap(IdentitySnapshot::defaultSvid).filter(s -> aliasOf(s).equals(alias));
  }

  private static String aliasOf(Svid svid) {
    try {
      return "svid-" + Hashing.sha256().hashBytes(svid.leaf().getEncoded()).toString().substring(0, 32);
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("SVID leaf cannot be encoded: " + svid, e);
    }
  }
}
