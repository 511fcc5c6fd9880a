package dev.rotor.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The process at the other end of a Unix-socket connection, held so that its PID cannot silently
 * come to mean another process: Rotor may only ask SPIRE about that PID (node mode) while the same
 * process still has it.
 *
 * <p>How, after SPIRE's agent for its own Workload API callers ({@code pkg/common/peertracker},
 * {@code tracker_linux.go}): when the connection is accepted, {@code /proc/<pid>/stat} is opened
 * and the process's start time read from it, and {@code /proc/<pid>} must be owned by the UID and
 * GID the kernel reported for the connection (SO_PEERCRED). An open {@code /proc/<pid>} file is
 * bound to that process, not to the number: once the process is gone, reading it fails with ESRCH
 * even if the PID is reused. {@link #recheck()} reads it again and compares the start time.
 *
 * <p>What remains: a process that connects and exits before Rotor opens its {@code /proc} entry,
 * whose PID is taken by a new process of the same UID and GID in those microseconds, would be
 * taken for it (SPIRE's own tracker has the same window; Linux 6.5's SO_PEERPIDFD would close it).
 */
public final class PeerProcess implements AutoCloseable {

  private static final Path PROC = Path.of("/proc");
  /** Field 22 of /proc/<pid>/stat, counted from 1: start time in clock ticks since boot (proc(5)). */
  private static final int START_TIME_FIELD = 22;

  private final int pid;
  private final FileChannel stat;
  private final String startTime;
  private final AtomicBoolean closed = new AtomicBoolean();

  private PeerProcess(int pid, FileChannel stat, String startTime) {
    this.pid = pid;
    this.stat = stat;
    this.startTime = startTime;
  }

  /**
   * Opens the process {@code pid}, which must be owned by {@code uid} and {@code gid}.
   *
   * @throws IOException when there is no such process (it exited), or it is not owned by them
   */
  public static PeerProcess open(int pid, int uid, int gid) throws IOException {
    if (pid <= 0) {
      throw new IOException("pid " + pid + " (expected: > 0; is the caller in a PID namespace Rotor cannot see?)");
    }
    Path dir = PROC.resolve(Integer.toString(pid));
    FileChannel stat = FileChannel.open(dir.resolve("stat"), StandardOpenOption.READ);
    try {
      String startTime = startTime(stat, pid);
      int ownerUid = (Integer) Files.getAttribute(dir, "unix:uid");
      int ownerGid = (Integer) Files.getAttribute(dir, "unix:gid");
      if (ownerUid != uid || ownerGid != gid) {
        throw new IOException("process " + pid + " is owned by uid=" + ownerUid + " gid=" + ownerGid
            + ", not by the connection's uid=" + uid + " gid=" + gid + " (its PID was reused)");
      }
      return new PeerProcess(pid, stat, startTime);
    } catch (IOException | RuntimeException e) {
      stat.close();
      throw e;
    }
  }

  public int pid() {
    return pid;
  }

  /** Empty while the process opened is alive and still this PID; else why not, for the log. */
  public Optional<String> recheck() {
    if (closed.get()) {
      return Optional.of("no longer watched (connection closed)");
    }
    try {
      String now = startTime(stat, pid);
      return now.equals(startTime) ? Optional.empty()
          : Optional.of("pid " + pid + " now belongs to a process started at tick " + now + ", not " + startTime);
    } catch (IOException e) {
      return Optional.of("process " + pid + " exited (" + e.getMessage() + ")");
    }
  }

  /** Releases the {@code /proc} handle. Idempotent. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      try {
        stat.close();
      } catch (IOException e) {
        // nothing to do: the handle is gone either way
      }
    }
  }

  private static String startTime(FileChannel stat, int pid) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(1024);
    // Positional read: the same open file, from its start, every time.
    int n = stat.read(buf, 0);
    if (n <= 0) {
      throw new IOException("/proc/" + pid + "/stat is empty");
    }
    String text = new String(buf.array(), 0, n, StandardCharsets.US_ASCII);
    // The command name (field 2) is in parentheses and may hold spaces and ')': count from the last ')'.
    int end = text.lastIndexOf(')');
    if (end < 0) {
      throw new IOException("/proc/" + pid + "/stat: no command name");
    }
    String[] rest = text.substring(end + 1).trim().split(" ");
    int index = START_TIME_FIELD - 3; // fields 1 (pid) and 2 (comm) are before the ')'
    if (rest.length <= index) {
      throw new IOException("/proc/" + pid + "/stat: " + (rest.length + 2) + " fields (expected at least "
          + START_TIME_FIELD + ")");
    }
    return rest[index];
  }
}
