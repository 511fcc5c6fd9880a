package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A directory opened once, with every operation on its entries done relative to that open
 * directory ({@code openat}, {@code fstatat}, {@code unlinkat}, {@code renameat}, through {@link
 * SecureDirectoryStream}) and never through a symlink. Moving the directory away, or putting a
 * symlink at its name, after it was opened changes nothing here: the operations keep acting on the
 * directory that was opened. Issue 13: a user who could write to cert_dir swapped a directory Rotor
 * was emptying for a symlink, and root Rotor deleted files in the symlink's target.
 *
 * <p>Names are single path elements: {@code openat(2)} ignores the directory for an absolute name
 * and walks through symlinks in one with a {@code /}, so both are refused.
 *
 * <p>Java has no {@code mkdirat} or {@code symlinkat}: callers create directories and symlinks by
 * path, inside a directory whose path only root and Rotor can change ({@link CertDirCheck}), and
 * check what they created through a handle before using it.
 *
 * <p>Not thread-safe; one owner, closed by it.
 */
final class DirectoryHandle implements AutoCloseable {

  private static final Path SELF = Path.of(".");

  private final SecureDirectoryStream<Path> stream;
  private final Path path;

  private DirectoryHandle(SecureDirectoryStream<Path> stream, Path path) {
    this.stream = stream;
    this.path = path;
  }

  /** Opens {@code dir} by path (symlinks in the path are followed, as for any configured path). */
  static DirectoryHandle open(Path dir) throws IOException {
    requireNonNull(dir, "dir");
    DirectoryStream<Path> s = Files.newDirectoryStream(dir);
    if (!(s instanceof SecureDirectoryStream<Path> secure)) {
      s.close();
      throw new IOException(dir + ": this platform has no SecureDirectoryStream (openat, unlinkat); Rotor's file"
          + " writer needs Linux");
    }
    return new DirectoryHandle(secure, dir.toAbsolutePath());
  }

  /**
   * Opens the directory {@code name} in this one.
   *
   * @throws IOException also when {@code name} is a symlink ({@code O_NOFOLLOW}) or not a directory
   */
  DirectoryHandle openDirectory(String name) throws IOException {
    return new DirectoryHandle(stream.newDirectoryStream(entry(name), LinkOption.NOFOLLOW_LINKS), path(name));
  }

  /** The path this directory was opened at, for messages: it may name another directory by now. */
  Path path() {
    return path;
  }

  /** {@link #path()} joined with {@code name}, for messages and for the operations Java has no *at form of. */
  Path path(String name) {
    return path.resolve(entry(name));
  }

  /** The names in this directory. */
  List<String> names() throws IOException {
    // A directory stream is iterated once: list through a fresh open of this same directory.
    try (SecureDirectoryStream<Path> again = stream.newDirectoryStream(SELF, LinkOption.NOFOLLOW_LINKS)) {
      List<String> names = new ArrayList<>();
      for (Path p : again) {
        names.add(p.getFileName().toString());
      }
      return names;
    }
  }

  /** This directory's own attributes ({@code fstat}), whatever its path names now. */
  PosixFileAttributes attributes() throws IOException {
    return stream.getFileAttributeView(PosixFileAttributeView.class).readAttributes();
  }

  /** The attributes of {@code name} itself, a symlink not followed; empty if there is no such entry. */
  Optional<PosixFileAttributes> attributes(String name) throws IOException {
    try {
      return Optional.of(view(name).readAttributes());
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /**
   * The attributes of {@code name}, a symlink not followed. Setting mode or owner through it opens
   * the entry ({@code O_RDONLY|O_NOFOLLOW}, so it needs read permission unless root) and changes the
   * file opened ({@code fchmod}, {@code fchown}).
   */
  PosixFileAttributeView view(String name) {
    return stream.getFileAttributeView(entry(name), PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
  }

  /** Sets this directory's own mode ({@code fchmod}). */
  void setMode(Set<PosixFilePermission> mode) throws IOException {
    stream.getFileAttributeView(PosixFileAttributeView.class).setPermissions(mode);
  }

  /**
   * Creates the file {@code name} ({@code O_CREAT|O_EXCL|O_NOFOLLOW}: never opens what is already
   * there, never follows a symlink) with {@code mode} as its creation mode, open for writing.
   */
  FileChannel createFile(String name, Set<PosixFilePermission> mode) throws IOException {
    return fileChannel(stream.newByteChannel(entry(name),
        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
        PosixFilePermissions.asFileAttribute(mode)), name);
  }

  /** Unlinks {@code name} (never a directory, never what a symlink points to); false if it did not exist. */
  boolean deleteIfExists(String name) throws IOException {
    try {
      stream.deleteFile(entry(name));
      return true;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /** Removes the directory {@code name}, which must be empty ({@code unlinkat(AT_REMOVEDIR)}). */
  void deleteDirectory(String name) throws IOException {
    stream.deleteDirectory(entry(name));
  }

  /** {@code renameat(2)} within this directory: atomic, replaces {@code to} (a symlink is replaced, not followed). */
  void rename(String from, String to) throws IOException {
    stream.move(entry(from), stream, entry(to));
  }

  /** Forces this directory's entries to disk (Linux allows fsync on a directory opened read-only). */
  void fsync() throws IOException {
    try (FileChannel ch = fileChannel(stream.newByteChannel(SELF, Set.of(StandardOpenOption.READ)), ".")) {
      ch.force(true);
    }
  }

  /** The JDK's channels from a SecureDirectoryStream are FileChannels; anything else cannot fsync. */
  private FileChannel fileChannel(SeekableByteChannel ch, String name) throws IOException {
    if (ch instanceof FileChannel f) {
      return f;
    }
    ch.close();
    throw new IOException(path.resolve(name) + ": the JDK gave no FileChannel (cannot fsync it)");
  }

  @Override
  public void close() throws IOException {
    stream.close();
  }

  private static Path entry(String name) {
    requireNonNull(name, "name");
    if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("name: \"" + name + "\" (expected one path element)");
    }
    return Path.of(name);
  }
}
