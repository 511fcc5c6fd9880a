package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Replaces one file so that a reader sees either the old content or the new, never a mix, an
 * empty file, or key bytes under the wrong mode:
 *
 * <ol>
 *   <li>a temporary file is created in the target's directory (a rename is only atomic within one
 *       file system) with {@code O_CREAT|O_EXCL} and the final mode as its creation mode;
 *   <li>the owner and group are set when configured, then the mode explicitly, because the creation
 *       mode passes through the umask (which can only remove bits, so the file is never more open
 *       than asked, even for a moment) — both before the first byte is written;
 *   <li>the content is written and forced to disk ({@code fsync});
 *   <li>the temporary file is renamed over the target ({@code rename(2)}, atomic);
 *   <li>the directory is forced to disk, so the rename itself survives a crash.
 * </ol>
 *
 * <p>Every step is relative to the directory opened once ({@link DirectoryHandle}) and never follows
 * a symlink: a user who can write to that directory and swaps the temporary name for a symlink
 * makes the write fail, never a chmod or chown of the symlink's target (issue 13).
 *
 * <p>Every write creates a new inode with the configured mode and owner, so a mode changed out of
 * band is corrected by the next write, and a mode without owner-write (0444) never makes the next
 * write fail (both are faults of spiffe-helper, which truncates the file in place). On any failure
 * the temporary file is removed and the target is left exactly as it was.
 *
 * <p>Thread-safe; the callers serialize writes to the same target.
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
    try (DirectoryHandle dir = DirectoryHandle.open(target.toAbsolutePath().getParent())) {
      write(dir, target.getFileName().toString(), content, spec);
    }
  }

  /** {@link #write(Path, byte[], FileSpec)} of {@code name} in {@code dir}. */
  void write(DirectoryHandle dir, String name, byte[] content, FileSpec spec) throws IOException {
    requireNonNull(content, "content");
    requireNonNull(spec, "spec");
    Created temp = createTemp(dir, name, spec);
    try {
      fill(dir, temp, content);
      dir.rename(temp.name(), name);
    } catch (IOException | RuntimeException e) {
      removeAfterFailure(dir, temp.name(), e);
      throw e;
    }
    dir.fsync();
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
    try (DirectoryHandle dir = DirectoryHandle.open(target.toAbsolutePath().getParent())) {
      writeNew(dir, target.getFileName().toString(), content, spec);
    }
  }

  /** {@link #writeNew(Path, byte[], FileSpec)} of {@code name} in {@code dir}. */
  void writeNew(DirectoryHandle dir, String name, byte[] content, FileSpec spec) throws IOException {
    requireNonNull(content, "content");
    requireNonNull(spec, "spec");
    Created file = new Created(name, createNew(dir, name, spec));
    try {
      fill(dir, file, content);
    } catch (IOException | RuntimeException e) {
      removeAfterFailure(dir, name, e);
      throw e;
    }
  }

  /** Writes and forces the content into a file just created, then closes it. */
  private void fill(DirectoryHandle dir, Created file, byte[] content) throws IOException {
    // The channel opened at creation is the one written: re-opening a 0444 file for writing
    // would fail for a non-root writer, and the name could have been swapped since.
    try (FileChannel ch = file.channel()) {
      hooks.afterCreate(dir.path(file.name()));
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    hooks.afterContent(dir.path(file.name()));
  }

  /** A file just created, open for writing. */
  private record Created(String name, FileChannel channel) {}

  /**
   * Creates an empty file in {@code dir} with exactly {@code spec}'s mode and owner, under a
   * hidden temporary name derived from {@code name}, and returns it open for writing.
   */
  private Created createTemp(DirectoryHandle dir, String name, FileSpec spec) throws IOException {
    for (int attempt = 0; ; attempt++) {
      String temp = "." + name + ".tmp-" + HexFormat.of().formatHex(randomBytes(6));
      try {
        return new Created(temp, createNew(dir, temp, spec));
      } catch (FileAlreadyExistsException e) {
        if (attempt == 5) {
          throw e;
        }
      }
    }
  }

  /**
   * Creates {@code name} in {@code dir} with exactly {@code spec}'s mode and owner before any
   * content, open for writing.
   *
   * @throws FileAlreadyExistsException if anything (a file, a symlink) is at {@code name}
   */
  private FileChannel createNew(DirectoryHandle dir, String name, FileSpec spec) throws IOException {
    // Owner-read in the creation mode: setting owner and mode below opens the file (O_RDONLY), which
    // a writer that is not root may do only with it. The file is empty and Rotor's own until then;
    // the exact mode replaces it before the first byte.
    FileChannel ch = dir.createFile(name, FileSpec.permissions(spec.mode() | 0400));
    try {
      hooks.afterOpen(dir.path(name));
      applyAttributes(dir.view(name), spec);
    } catch (IOException | RuntimeException e) {
      ch.close();
      removeAfterFailure(dir, name, e);
      throw e;
    }
    return ch;
  }

  /**
   * Sets owner and group when configured, then the mode (last: chown may clear setuid/setgid, and
   * the umask may have removed bits at creation). Java has no fchmod on a channel; the view opens
   * the entry relative to the directory handle with {@code O_NOFOLLOW} and changes what it opened,
   * so a symlink put at the name fails the write and its target is never touched.
   */
  private static void applyAttributes(PosixFileAttributeView view, FileSpec spec) throws IOException {
    if (spec.owner().isPresent()) {
      FileOwner o = spec.owner().get();
      if (o.uid().isPresent()) {
        view.setOwner(Principals.user(o.uid().get()));
      }
      if (o.gid().isPresent()) {
        view.setGroup(Principals.group(o.gid().get()));
      }
    }
    view.setPermissions(spec.permissions());
  }

  /** Unlinks {@code name} after a failed write, keeping the failure as the cause to report. */
  private static void removeAfterFailure(DirectoryHandle dir, String name, Exception failure) {
    try {
      dir.deleteIfExists(name);
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }
}
