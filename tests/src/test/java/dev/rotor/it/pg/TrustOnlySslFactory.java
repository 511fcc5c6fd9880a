package dev.rotor.it.pg;

import dev.rotor.testkit.postgres.PemFiles;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Properties;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.postgresql.ssl.WrappedFactory;

/**
 * A pgjdbc {@code sslfactory} that verifies the server against {@code sslrootcert} but has no
 * client certificate to offer: a client that speaks TLS correctly and simply has no identity.
 * pgjdbc still checks the host name for {@code sslmode=verify-full}. pgjdbc instantiates it by
 * name with the connection properties.
 */
public final class TrustOnlySslFactory extends WrappedFactory {
  public TrustOnlySslFactory(Properties info) throws GeneralSecurityException {
    String rootCert = info.getProperty("sslrootcert");
    if (rootCert == null) {
      throw new IllegalArgumentException("sslrootcert: not set (expected: the CA bundle to verify"
          + " the server against)");
    }
    TrustManagerFactory trust = TrustManagerFactory.getInstance("PKIX");
    trust.init(PemFiles.trustStore(Path.of(rootCert)));
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    factory = context.getSocketFactory();
  }
}
