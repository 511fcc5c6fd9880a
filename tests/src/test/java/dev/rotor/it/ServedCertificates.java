package dev.rotor.it;

import static dev.rotor.it.SecretMaterial.chain;
import static dev.rotor.it.SecretMaterial.id;
import static dev.rotor.testkit.KeyPairs.matches;
import static dev.rotor.it.SecretMaterial.privateKey;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.rotor.it.SecretMaterial.CertId;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The invariant every fault test checks on everything Rotor sent: each certificate was valid at
 * the moment it arrived (never expired, never not-yet-valid) and came with its own private key.
 */
public final class ServedCertificates {
  private ServedCertificates() {}

  /** Checks every TLS certificate in every response of {@code stream}; returns how many. */
  public static int checkAll(SdsTestClient.SecretStream stream) {
    int checked = 0;
    for (SdsTestClient.Received r : stream.responses()) {
      for (Secret s : SecretMaterial.secrets(r.response())) {
        checked += check(s, r.arrivedAt(), stream.describe());
      }
    }
    return checked;
  }

  /** As {@link #checkAll(SdsTestClient.SecretStream)} for a delta stream. */
  public static int checkAll(DeltaSecretStream stream) {
    int checked = 0;
    for (DeltaSecretStream.Received r : stream.responses()) {
      for (Resource resource : r.response().getResourcesList()) {
        checked += check(unpack(resource.getResource()), r.arrivedAt(), stream.describe());
      }
    }
    return checked;
  }

  /** The distinct leaf certificates a stream received for {@code name}, in arrival order. */
  public static List<CertId> leaves(SdsTestClient.SecretStream stream, String name) {
    List<CertId> leaves = new ArrayList<>();
    for (SdsTestClient.Received r : stream.responses()) {
      for (Secret s : SecretMaterial.secrets(r.response())) {
        if (s.getName().equals(name) && s.hasTlsCertificate()) {
          CertId leaf = id(chain(s).get(0));
          if (leaves.isEmpty() || !leaves.get(leaves.size() - 1).equals(leaf)) {
            leaves.add(leaf);
          }
        }
      }
    }
    return leaves;
  }

  private static int check(Secret secret, Instant arrivedAt, String where) {
    if (!secret.hasTlsCertificate()) {
      return 0;
    }
    X509Certificate leaf = chain(secret).get(0);
    Instant notBefore = leaf.getNotBefore().toInstant();
    Instant notAfter = leaf.getNotAfter().toInstant();
    if (arrivedAt.isBefore(notBefore) || !arrivedAt.isBefore(notAfter)) {
      throw new AssertionError(secret.getName() + " on " + where + ": " + id(leaf) + " (not before "
          + notBefore + ") arrived at " + arrivedAt + ", outside its validity");
    }
    if (!matches(privateKey(secret, leaf), leaf)) {
      throw new AssertionError(secret.getName() + " on " + where + ": the private key does not match " + id(leaf));
    }
    return 1;
  }

  private static Secret unpack(Any any) {
    try {
      return any.unpack(Secret.class);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("resource of type " + any.getTypeUrl() + " is not a Secret", e);
    }
  }
}
