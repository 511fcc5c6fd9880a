package dev.rotor.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * An exclusive lock on {@code <socket>.lock}, held for as long as a Rotor serves on the socket.
 *
 * <p>Why: two Rotors started together on one path both passed the "is anyone listening?" check,
 * both renamed their socket onto the path, and the one whose socket was replaced kept running and
 * reporting ready with no way for an Envoy to reach it (issue 13, low). The lock serializes them:
 * the second is refused at start, naming the first one's PID.
 *
 * <p>An fcntl lock (what {@link FileChannel#tryLock()} takes on Linux) ends with its process, so a
 * crashed Rotor leaves the file but never a held lock; the file is left in place on close, since
 * removing a lock file races with the next process that opens it. It is opened without following a
 * symbolic link and holds only the owner's PID.
 */
final class SocketLock implements AutoCloseable {

  private final FileChannel channel;
  private final FileLock lock;

  private SocketLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  static Path pathFor(Path socket) {
    return socket.resolveSibling(socket.getFileName() + ".lock");
  }

  /** @throws TransportStartException when another process (or server in this JVM) holds the lock */
  static SocketLock acquire(Path socket) throws TransportStartException {
    Path file = pathFor(socket);
    FileChannel ch;
    try {
      ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
    } catch (IOException e) {
      throw new TransportStartException(SocketFile.FLAG + " " + socket + ": cannot open the lock file " + file + " ("
          + SocketFile.reason(e) + "); remove it if no Rotor uses it, or choose another path", e);
    }
    try {
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // held by another server in this JVM
      }
      if (lock == null) {
        throw new TransportStartException(SocketFile.FLAG + " " + socket + ": address in use (another Rotor"
            + holder(ch) + " holds " + file + "); stop it or choose another path");
      }
      ch.truncate(0);
      ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
      return new SocketLock(ch, lock);
    } catch (IOException e) {
      closeQuietly(ch);
      throw new TransportStartException(SocketFile.FLAG + " " + socket + ": cannot lock " + file + " ("
          + SocketFile.reason(e) + "); choose another path", e);
    } catch (TransportStartException e) {
      closeQuietly(ch);
      throw e;
    }
  }

  /** Releases the lock (the file stays). Never throws. */
  @Override
  public void close() {
    try {
      lock.release();
    } catch (IOException e) {
      // closing the channel below releases it too
    }
    closeQuietly(channel);
  }

  /** " (PID n)" from the file, or nothing when it holds no number. */
  private static String holder(FileChannel ch) {
    try {
      ByteBuffer b = ByteBuffer.allocate(32);
      ch.read(b, 0);
      String pid = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).strip();
      return pid.matches("\\d{1,10}") ? " (PID " + pid + ")" : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // nothing more to release
    }
  }
}
