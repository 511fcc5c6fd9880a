package dev.rotor.xds;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Any;
import java.util.Optional;

/**
 * One xDS resource version, encoded once: the same {@link Any} (and so the same bytes) goes to
 * every stream that receives this version.
 *
 * @param name resource name as clients request it (an alias such as {@code default} is its own
 *     resource: Envoy requires {@code secret.name} to equal the requested name)
 * @param version content-derived: equal content gives an equal version
 * @param body the encoded resource
 * @param certificate what the push log may say about a certificate in it; never key material
 */
public record Resource(String name, String version, Any body, Optional<CertificateInfo> certificate) {

  public Resource {
    requireNonNull(name, "name");
    requireNonNull(version, "version");
    requireNonNull(body, "body");
    requireNonNull(certificate, "certificate");
  }

  @Override
  public String toString() {
    // Never the body: for secrets it holds a private key.
    return "Resource{" + name + "@" + version + "}";
  }
}
