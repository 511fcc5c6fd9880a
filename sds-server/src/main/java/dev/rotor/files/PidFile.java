package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The process {@code pid_file_name} names, if Rotor may signal it. Rotor often runs as root, and
 * whoever can write the pid file chooses the PID: issue 13, finding 8, uid 65534 wrote the PID of
 * a root process into it and root Rotor's SIGHUP killed that process. So the file grants nothing
 * its writer does not have already:
 *
 * <ul>
 *   <li>it is read only if it is a regular file itself (not a symlink, which could make Rotor read,
 *       and quote in an error, any file) that neither group nor others can write;
 *   <li>its PID is signalled only if the process runs as the file's owner, real and effective UID
 *       ({@code /proc/<pid>/status}): a user can signal their own processes anyway, and only root
 *       can write a root-owned pid file that names a root process;
 *   <li>and, when {@code key_file_owner} gives a UID, only if the process runs as that UID too.
 * </ul>
 *
 * <p>What stays: a PID can be reused between the check and the signal (Java cannot signal through a
 * pidfd), which a user cannot steer to a process of their choice within that millisecond.
 */
final class PidFile {

  /** A PID line is short; a longer first line is garbage anyway (and is only quoted clipped). */
  private static final int MAX_READ = 4096;

  private PidFile() {}

  /**
   * Why the file's PID is not signalled. The message completes "pid_file_name FILE".
   *
   * @param quiet a state that is normal for a while (the file does not exist yet)
   */
  static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;
    private final boolean quiet;

    Refused(String message, boolean quiet) {
      super(message);
      this.quiet = quiet;
    }

    boolean quiet() {
      return quiet;
    }
  }

  /**
   * The PID on the first line of {@code file}, after the checks above.
   *
   * @param requiredUid {@code key_file_owner}'s UID, when configured
   */
  static long pidToSignal(Path file, Optional<Integer> requiredUid) throws Refused {
    requireNonNull(file, "file");
    requireNonNull(requiredUid, "requiredUid");
    Map<String, Object> before = attributes(file);
    int mode = (Integer) before.get("mode");
    if ((mode & 0170000) == 0120000) {
      throw new Refused(" is a symbolic link; not read (give the path of the pid file itself)", false);
    }
    if ((mode & 0170000) != 0100000) {
      throw new Refused(" is not a regular file; not read (give the path of the program's pid file)", false);
    }
    if ((mode & 0022) != 0) {
      throw new Refused(" is writable by group or others (mode " + FileSpec.octal(mode & 0777) + "), who could"
          + " choose the process Rotor signals; not read (make it writable by its owner only: chmod go-w " + file + ")",
          false);
    }
    String first = firstLine(file);
    if (!sameFile(before, attributes(file))) {
      throw new Refused(": was replaced while Rotor read it; not signalled", false);
    }
    long pid = parse(first);
    int owner = (Integer) before.get("uid");
    ProcessUids p = ProcessUids.of(pid);
    if (!p.runsAs(owner)) {
      throw new Refused(": pid " + pid + " runs as " + p + ", not as uid " + owner + ", the file's owner; not"
          + " signalled (Rotor signals only a process of the user who owns the pid file)", false);
    }
    if (requiredUid.isPresent() && !p.runsAs(requiredUid.get())) {
      throw new Refused(": pid " + pid + " runs as " + p + ", not as uid " + requiredUid.get() + ", key_file_owner;"
          + " not signalled (Rotor signals only a process of the user the key is for)", false);
    }
    return pid;
  }

  private static Map<String, Object> attributes(Path file) throws Refused {
    try {
      return Files.readAttributes(file, "unix:mode,uid,ino,dev", LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw new Refused(" does not exist yet", true);
    } catch (IOException e) {
      throw new Refused(": cannot read it: " + e.getMessage(), false);
    }
  }

  private static boolean sameFile(Map<String, Object> a, Map<String, Object> b) {
    return a.get("ino").equals(b.get("ino")) && a.get("dev").equals(b.get("dev")) && a.get("uid").equals(b.get("uid"));
  }

  /** The first line, read without following a symlink put there since the check. */
  private static String firstLine(Path file) throws Refused {
    ByteBuffer buf = ByteBuffer.allocate(MAX_READ);
    try (SeekableByteChannel ch = Files.newByteChannel(file, Set.of(StandardOpenOption.READ,
        LinkOption.NOFOLLOW_LINKS))) {
      while (buf.hasRemaining() && ch.read(buf) > 0) {
        // until full or end of file
      }
    } catch (NoSuchFileException e) {
      throw new Refused(" does not exist yet", true);
    } catch (IOException e) {
      throw new Refused(": cannot read it: " + e.getMessage(), false);
    }
    String text = new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII).strip();
    return text.lines().findFirst().orElse("").strip();
  }

  private static long parse(String first) throws Refused {
    try {
      long pid = Long.parseLong(first);
      if (pid > 0) {
        return pid;
      }
    } catch (NumberFormatException e) {
      // below
    }
    String shown = first.length() > 40 ? first.substring(0, 40) + "..." : first;
    throw new Refused(": \"" + shown + "\" is not a process ID (expected the decimal PID of the program on the first"
        + " line)", false);
  }

  /** A process's real and effective UID, from the {@code Uid:} line of {@code /proc/<pid>/status}. */
  private record ProcessUids(int real, int effective) {

    static ProcessUids of(long pid) throws Refused {
      String status;
      try {
        status = Files.readString(Path.of("/proc", Long.toString(pid), "status"), StandardCharsets.US_ASCII);
      } catch (NoSuchFileException e) {
        throw new Refused(": pid " + pid + ": no such process", false);
      } catch (IOException e) {
        throw new Refused(": pid " + pid + ": cannot tell who runs it (" + e.getMessage() + "); not signalled", false);
      }
      for (String line : status.lines().toList()) {
        String[] f = line.split("\\s+");
        if (f[0].equals("Uid:") && f.length >= 3 && f[1].matches("\\d{1,10}") && f[2].matches("\\d{1,10}")) {
          return new ProcessUids(Integer.parseUnsignedInt(f[1]), Integer.parseUnsignedInt(f[2]));
        }
      }
      throw new Refused(": pid " + pid + ": no Uid line in /proc/" + pid + "/status; not signalled", false);
    }

    boolean runsAs(int uid) {
      return real == uid && effective == uid;
    }

    @Override
    public String toString() {
      return real == effective ? "uid " + real : "uid " + real + " (effective " + effective + ")";
    }
  }
}
