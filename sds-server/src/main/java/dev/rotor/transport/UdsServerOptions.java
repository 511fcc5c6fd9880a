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
 * @param limits how many connections, and calls on each, the socket admits
 */
public record UdsServerOptions(Path socketPath, Set<PosixFilePermission> socketMode, Set<Integer> allowedUids,
    Limits limits) {

  /**
   * What the socket admits; a connection past a limit is closed at once (issue 13, finding 5).
   *
   * @param maxConnections connections open at once, all UIDs together ({@code --max-connections})
   * @param maxConnectionsPerUid connections open at once from one allowed UID ({@code
   *     --max-connections-per-uid})
   * @param maxCallsPerConnection concurrent calls (xDS streams) on one connection, announced as
   *     HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS ({@code --max-streams-per-connection})
   */
  public record Limits(int maxConnections, int maxConnectionsPerUid, int maxCallsPerConnection) {

    /**
     * A pod's Envoy needs a connection or two; the defaults leave room for many Envoys on one
     * socket and for reconnect storms, while 512 idle connections cost a few MB of heap.
     */
    public static final Limits DEFAULTS = new Limits(512, 256, 100);

    public Limits {
      if (maxConnections < 1 || maxConnectionsPerUid < 1 || maxCallsPerConnection < 1) {
        throw new IllegalArgumentException("limits: " + maxConnections + ", " + maxConnectionsPerUid + ", "
            + maxCallsPerConnection + " (expected: each > 0)");
      }
      if (maxConnectionsPerUid > maxConnections) {
        throw new IllegalArgumentException("maxConnectionsPerUid: " + maxConnectionsPerUid
            + " (expected: at most maxConnections, " + maxConnections + ")");
      }
    }
  }

  /** 0660: owner and group may connect. */
  public static final Set<PosixFilePermission> DEFAULT_SOCKET_MODE =
      Collections.unmodifiableSet(EnumSet.copyOf(PosixFilePermissions.fromString("rw-rw----")));

  /** With the default limits. */
  public UdsServerOptions(Path socketPath, Set<PosixFilePermission> socketMode, Set<Integer> allowedUids) {
    this(socketPath, socketMode, allowedUids, Limits.DEFAULTS);
  }

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
    requireNonNull(limits, "limits");
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
