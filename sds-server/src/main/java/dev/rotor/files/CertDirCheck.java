package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Who besides root and Rotor's own user could change what cert_dir's path leads to, or rename
 * what Rotor creates in it. Issue 13: a user who can write to cert_dir or to a directory above it
 * can swap a directory Rotor works in for a symlink; {@link DirectoryHandle} makes that harmless
 * to everything outside cert_dir, and this check keeps such users out of cert_dir in the first
 * place (they could still delete or replace the files readers see).
 *
 * <p>The path is walked as the kernel resolves it, symlinks included. Every directory on it must
 * be owned by root or Rotor's UID (an owner can chmod its directory) and must not be writable by
 * group or others, unless it has the sticky bit: there ({@code /tmp}, a Kubernetes memory
 * emptyDir), only the owner of an entry may rename or remove it, so an entry owned by root or
 * Rotor stays put. A symlink in such a shared directory must be owned by root or Rotor too.
 * Group-writable means writable by someone else: Rotor does not ask who is in the group. POSIX ACLs
 * are covered: with an ACL, the group bits are the ACL's mask, the most any entry can grant.
 */
final class CertDirCheck {

  /** Linux's limit on symlinks followed in one path resolution (MAXSYMLINKS). */
  static final int MAX_SYMLINKS = 40;

  private static final int S_IFMT = 0170000;
  private static final int S_IFDIR = 0040000;
  private static final int S_IFLNK = 0120000;
  private static final int STICKY = 01000;
  private static final int GROUP_OR_OTHER_WRITE = 0022;

  private CertDirCheck() {}

  /**
   * The problems with {@code dir}, one sentence each; empty when only root and {@code ownUid} can
   * change it.
   *
   * @param dir an absolute path
   * @throws IOException when the path cannot be walked (the caller refuses it: fail closed)
   */
  static List<String> problems(Path dir, int ownUid) throws IOException {
    requireNonNull(dir, "dir");
    if (!dir.isAbsolute()) {
      throw new IllegalArgumentException("dir: " + dir + " (expected: an absolute path)");
    }
    Set<String> problems = new LinkedHashSet<>(); // a directory visited twice (a/../a) is one problem
    Deque<String> todo = new ArrayDeque<>();
    dir.forEach(name -> todo.addLast(name.toString()));
    Path current = dir.getRoot();
    Attributes currentAttributes = Attributes.of(current);
    checkDirectory(current, currentAttributes, ownUid, problems);
    int symlinks = 0;
    while (!todo.isEmpty()) {
      String name = todo.removeFirst();
      if (name.isEmpty() || name.equals(".")) {
        continue;
      }
      if (name.equals("..")) {
        current = current.getParent() == null ? current : current.getParent(); // current has no symlinks
        currentAttributes = Attributes.of(current);
        continue;
      }
      Path next = current.resolve(name);
      Attributes a = Attributes.of(next);
      if (a.isSymlink()) {
        if (++symlinks > MAX_SYMLINKS) {
          throw new IOException(dir + ": more than " + MAX_SYMLINKS + " symbolic links in the path");
        }
        if (currentAttributes.isSharedSticky() && !trusted(a.uid(), ownUid)) {
          problems.add(next + " is a symlink owned by uid " + a.uid() + " in a directory others can write to (its"
              + " owner can point it elsewhere)");
        }
        Path target = Files.readSymbolicLink(next);
        List<String> parts = new ArrayList<>();
        target.forEach(p -> parts.add(p.toString()));
        for (int i = parts.size() - 1; i >= 0; i--) {
          todo.addFirst(parts.get(i));
        }
        if (target.isAbsolute()) {
          current = target.getRoot();
          currentAttributes = Attributes.of(current);
        }
        continue;
      }
      if (!a.isDirectory()) {
        throw new IOException(next + " is not a directory");
      }
      checkDirectory(next, a, ownUid, problems);
      current = next;
      currentAttributes = a;
    }
    return List.copyOf(problems);
  }

  private static void checkDirectory(Path dir, Attributes a, int ownUid, Set<String> problems) {
    if (!trusted(a.uid(), ownUid)) {
      problems.add(dir + " is owned by uid " + a.uid() + " (expected root or Rotor's uid " + ownUid
          + ": a directory's owner can make it writable and rename what is in it)");
    }
    if ((a.mode() & GROUP_OR_OTHER_WRITE) != 0 && (a.mode() & STICKY) == 0) {
      problems.add(dir + " is writable by " + ((a.mode() & 0002) != 0 ? "others" : "its group") + " (mode "
          + String.format("%04o", a.mode() & 07777) + ")");
    }
  }

  private static boolean trusted(int uid, int ownUid) {
    return uid == 0 || uid == ownUid;
  }

  /** Mode (with file type and sticky bit) and owner of a path itself, a symlink not followed. */
  private record Attributes(int mode, int uid) {
    static Attributes of(Path p) throws IOException {
      Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid", LinkOption.NOFOLLOW_LINKS);
      return new Attributes((Integer) a.get("mode"), (Integer) a.get("uid"));
    }

    boolean isSymlink() {
      return (mode & S_IFMT) == S_IFLNK;
    }

    boolean isDirectory() {
      return (mode & S_IFMT) == S_IFDIR;
    }

    /** Writable by group or others, with the sticky bit. */
    boolean isSharedSticky() {
      return (mode & GROUP_OR_OTHER_WRITE) != 0 && (mode & STICKY) != 0;
    }
  }
}
