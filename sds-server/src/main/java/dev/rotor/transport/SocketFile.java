package dev.rotor.transport;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The file-system side of the Unix socket: checking what is at the path, creating the socket
 * without ever exposing it with a wider mode than configured, and removing it again.
 *
 * <p>The socket is bound inside a fresh 0700 directory next to the target, chmod-ed there, and
 * then renamed onto the target. rename(2) is atomic and replaces a stale socket in one step, so
 * there is no moment when the target path holds a socket with the umask's mode, and no moment
 * when it holds nothing while a stale socket is being replaced.
 */
final class SocketFile {

  static final String FLAG = "--sds-socket";

  /** sun_path is 108 bytes on Linux, including the terminating NUL. */
  static final int MAX_PATH_BYTES = 107;

  private static final Set<PosixFilePermission> PRIVATE_DIR = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> PARENT_DIR = PosixFilePermissions.fromString("rwxr-xr-x");
  private static final String STAGING_PREFIX = ".rotor-";
  private static final String STAGED_NAME = "s";

  // st_mode file-type bits (see inode(7)).
  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;
  private static final int S_IFLNK = 0120000;
  private static final int S_IFREG = 0100000;
  private static final int S_IFDIR = 0040000;

  private SocketFile() {}

  /**
   * Fails unless the target path is free or holds a stale socket (one nobody listens on), which
   * the later rename replaces. Does not follow a symbolic link at the target.
   */
  static void checkTarget(Path target) throws TransportStartException {
    checkLength(target, target);
    int mode;
    try {
      mode = (Integer) Files.getAttribute(target, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return;
    } catch (IOException e) {
      throw new TransportStartException(
          FLAG + " " + target + ": cannot inspect the path (" + reason(e) + "); fix its permissions or choose another path", e);
    }
    switch (mode & S_IFMT) {
      case S_IFSOCK -> {
        if (isListening(target)) {
          throw new TransportStartException(FLAG + " " + target
              + ": address in use (another process is listening on this socket); stop it or choose another path");
        }
      }
      case S_IFREG -> throw new TransportStartException(
          FLAG + " " + target + ": a regular file is in the way; remove it or choose another path");
      case S_IFDIR -> throw new TransportStartException(
          FLAG + " " + target + ": is a directory; pass the path of the socket file, e.g. " + target.resolve("sds.sock"));
      case S_IFLNK -> throw new TransportStartException(
          FLAG + " " + target + ": is a symbolic link, which Rotor does not follow for its socket; remove it or pass the real path");
      default -> throw new TransportStartException(
          FLAG + " " + target + ": something other than a socket is in the way; remove it or choose another path");
    }
  }

  /** Creates the missing directories above the socket with mode 0755 (not subject to the umask). */
  static void createParents(Path target) throws TransportStartException {
    Path dir = target.getParent();
    Deque<Path> missing = new ArrayDeque<>();
    for (Path p = dir; p != null && !Files.exists(p); p = p.getParent()) {
      missing.push(p);
    }
    while (!missing.isEmpty()) {
      Path p = missing.pop();
      try {
        Files.createDirectory(p);
        Files.setPosixFilePermissions(p, PARENT_DIR);
      } catch (FileAlreadyExistsException e) {
        if (!Files.isDirectory(p)) {
          throw cannotCreateIn(target, p.getParent(), e);
        }
      } catch (IOException e) {
        throw cannotCreateIn(target, p.getParent(), e);
      }
    }
  }

  /** Creates a fresh 0700 directory next to the target; the socket is bound inside it. */
  static Path createStagingDir(Path target) throws TransportStartException {
    Path dir = target.getParent();
    checkLength(target, dir.resolve(STAGING_PREFIX + "00000000").resolve(STAGED_NAME));
    for (int attempt = 0; ; attempt++) {
      String name = STAGING_PREFIX + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
      try {
        // mkdir applies the umask, which can only narrow 0700.
        return Files.createDirectory(dir.resolve(name), PosixFilePermissions.asFileAttribute(PRIVATE_DIR));
      } catch (FileAlreadyExistsException e) {
        if (attempt >= 10) {
          throw cannotCreateIn(target, dir, e);
        }
      } catch (IOException e) {
        throw cannotCreateIn(target, dir, e);
      }
    }
  }

  /** Where to bind inside the staging directory. */
  static Path stagedSocket(Path stagingDir) {
    return stagingDir.resolve(STAGED_NAME);
  }

  /**
   * Sets the socket's mode and renames it onto the target. Returns the file key (device and
   * inode) of the published socket, so {@link #deleteIfUnchanged} removes only our own socket.
   */
  static Object publish(Path staged, Path target, Set<PosixFilePermission> mode) throws TransportStartException {
    try {
      Files.setPosixFilePermissions(staged, mode);
      Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
      return Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    } catch (IOException e) {
      throw new TransportStartException(FLAG + " " + target + ": cannot publish the socket (" + reason(e)
          + "); make " + target.getParent() + " writable for Rotor's user or choose another path", e);
    }
  }

  /**
   * Deletes the socket at {@code target} if it is still the one we published; a socket another
   * process has put there since is left alone. Never throws.
   */
  static boolean deleteIfUnchanged(Path target, Object fileKey) {
    try {
      if (isUnchanged(target, fileKey)) {
        Files.delete(target);
        return true;
      }
    } catch (IOException e) {
      // Already gone or not ours to delete: nothing to clean up.
    }
    return false;
  }

  /** Whether {@code target} is still the file with {@code fileKey} (device and inode). Never throws. */
  static boolean isUnchanged(Path target, Object fileKey) {
    try {
      return fileKey != null
          && fileKey.equals(Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey());
    } catch (IOException e) {
      return false;
    }
  }

  /** Removes the staging directory and anything left in it (a socket whose publish failed). */
  static void deleteStaging(Path stagingDir) {
    try {
      Files.deleteIfExists(stagedSocket(stagingDir));
      Files.deleteIfExists(stagingDir);
    } catch (IOException e) {
      // Best effort: a leftover empty 0700 directory exposes nothing.
    }
  }

  /** Whether a process accepts connections on the socket at {@code path}. */
  private static boolean isListening(Path path) throws TransportStartException {
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      // A non-blocking connect never waits on a listener with a full backlog.
      probe.configureBlocking(false);
      probe.connect(UnixDomainSocketAddress.of(path));
      return true;
    } catch (ConnectException e) {
      return false; // ECONNREFUSED: the socket file is stale.
    } catch (IOException e) {
      throw new TransportStartException(FLAG + " " + path + ": a socket exists and cannot be probed ("
          + reason(e) + "); remove it if no process uses it, or choose another path", e);
    }
  }

  private static void checkLength(Path target, Path path) throws TransportStartException {
    int bytes = path.toString().getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_PATH_BYTES) {
      int slack = path.toString().getBytes(StandardCharsets.UTF_8).length
          - target.toString().getBytes(StandardCharsets.UTF_8).length;
      throw new TransportStartException(FLAG + " " + target + ": path is too long for a Unix socket ("
          + (bytes - slack) + " bytes; at most " + (MAX_PATH_BYTES - slack) + " here); choose a shorter path");
    }
  }

  private static TransportStartException cannotCreateIn(Path target, Path dir, IOException e) {
    return new TransportStartException(FLAG + " " + target + ": cannot create the socket in " + dir + " ("
        + reason(e) + "); make the directory writable for Rotor's user or choose another path", e);
  }

  static String reason(IOException e) {
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof NotDirectoryException) {
      return "not a directory";
    }
    if (e instanceof FileSystemException fse && fse.getReason() != null) {
      return fse.getReason();
    }
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
