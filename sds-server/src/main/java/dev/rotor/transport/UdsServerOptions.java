package dev.rotor.transport;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * How to serve on a Unix domain socket.
 *
 * @param socketPath where the socket appears (made absolute); its parent directories are created
 *     (0755) when missing
 * @param socketMode the permissions of the socket file; connecting needs write permission, so
 *     {@code rw-rw----} (0660, the default) admits the owner and the group
 * @param allowedUids the UIDs whose calls are served (checked with SO_PEERCRED on every
 *     connection); never empty: there is no "anyone who can open the socket" mode
 */
public record UdsServerOptions(Path socketPath, Set<PosixFilePermission> socketMode, Set<Integer> allowedUids) {

  /** 0660: owner and group may connect. */
  public static final Set<PosixFilePermission> DEFAULT_SOCKET_MODE =
      Collections.unmodifiableSet(EnumSet.copyOf(PosixFilePermissions.fromString("rw-rw----")));

  public UdsServerOptions {
    requireNonNull(socketPath, "socketPath");
    socketPath = socketPath.toAbsolutePath().normalize();
    if (socketPath.getFileName() == null || socketPath.getParent() == null) {
      throw new IllegalArgumentException("socketPath: " + socketPath + " (expected: a file path such as /run/rotor/sds.sock)");
    }
    requireNonNull(socketMode, "socketMode");
    socketMode = Collections.unmodifiableSet(
        socketMode.isEmpty() ? EnumSet.noneOf(PosixFilePermission.class) : EnumSet.copyOf(socketMode));
    requireNonNull(allowedUids, "allowedUids");
    if (allowedUids.isEmpty()) {
      throw new IllegalArgumentException("allowedUids: empty (expected: at least one UID, e.g. Rotor's own)");
    }
    for (Integer uid : allowedUids) {
      if (uid == null || uid < 0) {
        throw new IllegalArgumentException("allowedUids: " + uid + " (expected: a UID >= 0)");
      }
    }
    allowedUids = Collections.unmodifiableSet(new TreeSet<>(allowedUids));
  }

  /** Options with the default socket mode (0660). */
  public static UdsServerOptions of(Path socketPath, Set<Integer> allowedUids) {
    return new UdsServerOptions(socketPath, DEFAULT_SOCKET_MODE, allowedUids);
  }

  /** The socket mode in the octal form operators know, e.g. {@code 0660}. */
  public String socketModeOctal() {
    int mode = 0;
    for (PosixFilePermission p : socketMode) {
      mode |= 1 << (8 - p.ordinal());
    }
    return String.format("0%03o", mode);
  }
}
