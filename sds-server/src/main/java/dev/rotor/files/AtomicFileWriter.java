package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * Replaces one file so that a reader sees either the old content or the new, never a mix, an
 * empty file, or key bytes under the wrong mode:
 *
 * <ol>
 *   <li>a temporary file is created in the target's directory (a rename is only atomic within one
 *       file system) with {@code O_CREAT|O_EXCL} and the final mode as its creation mode;
 *   <li>the mode is then set explicitly, because the creation mode passes through the umask (which
 *       can only remove bits, so the file is never more open than asked, even for a moment), and
 *       the owner and group when configured — both before the first byte is written;
 *   <li>the content is written and forced to disk ({@code fsync});
 *   <li>the temporary file is renamed over the target ({@code rename(2)}, atomic);
 *   <li>the directory is forced to disk, so the rename itself survives a crash.
 * </ol>
 *
 * <p>Every write creates a new inode with the configured mode and owner, so a mode changed out of
 * band is corrected by the next write, and a mode without owner-write (0444) never makes the next
 * write fail (both are faults of spiffe-helper, which truncates the file in place). On any failure
 * the temporary file is removed and the target is left exactly as it was.
 *
 * <p>Stateless and thread-safe; the callers serialize writes to the same target.
 */
public final class AtomicFileWriter {

  /** Test seam: called at points of the write; production uses {@link #NONE}. */
  interface Hooks {
    /** Right after the file is created ({@code O_EXCL}), before its mode and owner are set. */
    default void afterOpen(Path file) throws IOException {}

    /** After the temporary file exists with its final mode and owner, before any content. */
    default void afterCreate(Path temp) throws IOException {}

    /** After the content is written and forced; in {@link #write}, before the rename. */
    default void afterContent(Path file) throws IOException {}
  }

  static final Hooks NONE = new Hooks() {};

  private static final SecureRandom RANDOM = new SecureRandom();

  private final Hooks hooks;

  public AtomicFileWriter() {
    this(NONE);
  }

  AtomicFileWriter(Hooks hooks) {
    this.hooks = requireNonNull(hooks, "hooks");
  }

  /**
   * Atomically replaces {@code target} (a file, or a symlink, which is replaced itself and not
   * followed) with {@code content} under {@code spec}.
   *
   * @throws IOException the target is unchanged
   */
  public void write(Path target, byte[] content, FileSpec spec) throws IOException {
    requireNonNull(target, "target");
    requireNonNull(content, "content");
    requireNonNull(spec, "spec");
    Path dir = target.toAbsolutePath().getParent();
    Temp temp = createTemp(dir, target.getFileName().toString(), spec, hooks);
    boolean done = false;
    try {
      fill(temp, content);
      rename(temp.path(), target);
      done = true;
    } finally {
      if (!done) {
        Files.deleteIfExists(temp.path());
      }
    }
    fsyncDirectory(dir);
  }

  /**
   * Creates {@code target}, which must not exist, with {@code content} under {@code spec}: steps 1
   * to 3 above on the final name, without the rename. For a directory no reader can see yet (a
   * version directory before its swap), where a temporary name adds a rename and a directory fsync
   * per file and protects nothing. The caller forces the directory once all its files are written.
   *
   * @throws IOException {@code target} does not exist afterwards
   */
  public void writeNew(Path target, byte[] content, FileSpec spec) throws IOException {
    requireNonNull(target, "target");
    requireNonNull(content, "content");
    requireNonNull(spec, "spec");
    Temp file = new Temp(target, openNew(target, spec, hooks));
    boolean done = false;
    try {
      fill(file, content);
      done = true;
    } finally {
      if (!done) {
        Files.deleteIfExists(target);
      }
    }
  }

  /** Writes and forces the content into a file just created, then closes it. */
  private void fill(Temp file, byte[] content) throws IOException {
    // The channel opened at creation is the one written: re-opening a 0444 file for writing
    // would fail for a non-root writer.
    try (FileChannel ch = file.channel()) {
      hooks.afterCreate(file.path());
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    hooks.afterContent(file.path());
  }

  /** A temporary file just created, open for writing. */
  record Temp(Path path, FileChannel channel) {}

  /**
   * Creates an empty file in {@code dir} with exactly {@code spec}'s mode and owner, under a
   * hidden temporary name derived from {@code name}, and returns it open for writing.
   */
  static Temp createTemp(Path dir, String name, FileSpec spec, Hooks hooks) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Path temp = dir.resolve("." + name + ".tmp-" + HexFormat.of().formatHex(randomBytes(6)));
      try {
        return new Temp(temp, openNew(temp, spec, hooks));
      } catch (FileAlreadyExistsException e) {
        if (attempt == 5) {
          throw e;
        }
      }
    }
  }

  /**
   * Creates {@code file} with exactly {@code spec}'s mode and owner before any content, open for
   * writing.
   *
   * @throws FileAlreadyExistsException if anything (a file, a symlink) is at {@code file}
   */
  private static FileChannel openNew(Path file, FileSpec spec, Hooks hooks) throws IOException {
    // CREATE_NEW is O_EXCL: never opens a file someone else placed there, never follows a symlink.
    FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
        PosixFilePermissions.asFileAttribute(spec.permissions()));
    try {
      hooks.afterOpen(file);
      applyAttributes(file, spec);
    } catch (IOException | RuntimeException e) {
      ch.close();
      Files.deleteIfExists(file);
      throw e;
    }
    return ch;
  }

  /**
   * Sets mode, then owner and group. Java has no fchmod on a channel; chmod by path is safe here
   * because the name was just created with O_EXCL in the writer's own directory.
   */
  static void applyAttributes(Path file, FileSpec spec) throws IOException {
    Files.setPosixFilePermissions(file, spec.permissions());
    if (spec.owner().isPresent()) {
      FileOwner o = spec.owner().get();
      if (o.uid().isPresent()) {
        Files.setAttribute(file, "unix:uid", o.uid().get(), LinkOption.NOFOLLOW_LINKS);
      }
      if (o.gid().isPresent()) {
        Files.setAttribute(file, "unix:gid", o.gid().get(), LinkOption.NOFOLLOW_LINKS);
      }
      // chown clears no permission bits we use (only setuid/setgid), but be exact anyway.
      Files.setPosixFilePermissions(file, spec.permissions());
    }
  }

  /** rename(2): replaces {@code target} atomically; a symlink target is replaced, not followed. */
  static void rename(Path from, Path target) throws IOException {
    try {
      Files.move(from, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cannot rename " + from + " to " + target + " atomically (same directory required)", e);
    }
  }

  /** Forces a directory's entries to disk (Linux allows fsync on a directory opened read-only). */
  static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }
}
