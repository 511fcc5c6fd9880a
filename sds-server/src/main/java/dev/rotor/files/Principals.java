package dev.rotor.files;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Numeric user and group IDs as the JDK's principals (what {@link DirectoryHandle}'s attribute
 * views take and return), and Rotor's own UID.
 */
final class Principals {

  private static final UserPrincipalLookupService LOOKUP = FileSystems.getDefault().getUserPrincipalLookupService();
  private static final Map<Integer, UserPrincipal> USERS = new ConcurrentHashMap<>();
  private static final Map<Integer, GroupPrincipal> GROUPS = new ConcurrentHashMap<>();

  private Principals() {}

  /**
   * The user with this UID. The JDK tries the text as a user name first and falls back to the
   * number; no valid user name is all digits (useradd refuses them), so this is the UID itself.
   * Cached: the lookup may ask NSS.
   */
  static UserPrincipal user(int uid) throws IOException {
    return cached(USERS, uid, LOOKUP::lookupPrincipalByName);
  }

  /** The group with this GID; as {@link #user}. */
  static GroupPrincipal group(int gid) throws IOException {
    return cached(GROUPS, gid, LOOKUP::lookupPrincipalByGroupName);
  }

  /** A JDK principal lookup by name. */
  private interface Lookup<T> {
    T byName(String name) throws IOException;
  }

  private static <T> T cached(Map<Integer, T> cache, int id, Lookup<T> lookup) throws IOException {
    T p = cache.get(id);
    if (p == null) {
      p = lookup.byName(Integer.toString(id));
      cache.put(id, p);
    }
    return p;
  }

  /** Rotor's effective UID: the owner of everything it creates ({@code /proc/self} belongs to it). */
  static int ownUid() throws IOException {
    return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
  }
}
