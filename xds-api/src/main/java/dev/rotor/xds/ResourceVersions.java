package dev.rotor.xds;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.protobuf.Any;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** Content-derived versions: a digest of the encoded bytes, so identical content never looks new. */
public final class ResourceVersions {
  private ResourceVersions() {}

  /** 64 bits of SHA-256 over the encoded resource, as 16 hex characters. */
  public static String of(Any body) {
    return Hashing.sha256().hashBytes(body.toByteArray()).toString().substring(0, 16);
  }

  /** The version of a set of resources: a digest over their sorted names and versions. */
  public static String ofSet(Collection<Resource> resources) {
    if (resources.size() == 1) {
      return resources.iterator().next().version();
    }
    List<Resource> sorted = resources.stream().sorted(Comparator.comparing(Resource::name)).toList();
    Hasher h = Hashing.sha256().newHasher();
    for (Resource r : sorted) {
      h.putString(r.name(), StandardCharsets.UTF_8).putByte((byte) 0);
      h.putString(r.version(), StandardCharsets.UTF_8).putByte((byte) 0);
    }
    return h.hash().toString().substring(0, 16);
  }
}
