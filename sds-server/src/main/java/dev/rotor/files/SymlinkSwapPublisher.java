package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Publishes a set of files (certificate, key, bundle, ...) so that they all change in one atomic
 * step, the way Kubernetes' AtomicWriter updates secret volumes:
 *
 * <pre>
 * cert_dir/
 *   ..2026_05_01_10_00_00.000000000_3f2a9c0e1b7d4a55/   one immutable directory per version
 *       svid.pem  svid_key.pem  svid_bundle.pem
 *   ..data -&gt; ..2026_05_01_10_00_00.000000000_3f2a9c0e1b7d4a55
 *   svid.pem -&gt; ..data/svid.pem                         the configured names, as symlinks
 *   svid_key.pem -&gt; ..data/svid_key.pem
 *   svid_bundle.pem -&gt; ..data/svid_bundle.pem
 * </pre>
 *
 * <p>A new version is written completely into a new directory (each file with its final mode from
 * the first byte, fsynced; then the directory, once), then one {@code rename(2)} of a new {@code ..data} symlink over the old
 * one switches every file at once. A reader that opens the certificate and the key after the swap
 * gets the new pair; one that opened both before gets the old pair. Only a reader that opens one
 * file before and the other after a swap can mix them: readers must re-read both files when told
 * to (Rotor signals after the swap, never before), or resolve {@code ..data} once and open both
 * files in that directory, which never changes. docs/file-writer.md explains why this beats
 * renaming each file on its own (key first or certificate first).
 *
 * <p>The version directory's name carries the digest of what it holds, so a restart knows what is
 * in place without comparing keys. The current and the previous version are kept (a reader that
 * resolved {@code ..data} just before a swap still finds its files); older ones are removed.
 *
 * <p>Not thread-safe: one writer per cert_dir, called from one thread.
 */
public final class SymlinkSwapPublisher {

  static final String DATA = "..data";
  private static final String DATA_TMP = "..data_tmp";
  private static final Pattern VERSION = Pattern.compile("\\.\\.(\\d{4}_\\d{2}_\\d{2}_\\d{2}_\\d{2}_\\d{2}\\.\\d{9})_"
      + "([0-9a-f]{16})(?:_(\\d+))?");
  private static final DateTimeFormatter STAMP =
      DateTimeFormatter.ofPattern("yyyy_MM_dd_HH_mm_ss.nnnnnnnnn").withZone(ZoneOffset.UTC);
  private static final Set<java.nio.file.attribute.PosixFilePermission> DIR_MODE =
      PosixFilePermissions.fromString("rwxr-xr-x");

  /** Test seam: called at points of a publish; production uses {@link #NONE}. */
  interface Hooks {
    /** After the entries of a version directory to remove were listed, before the first is unlinked. */
    default void beforeUnlink(Path versionDir) throws IOException {}
  }

  static final Hooks NONE = new Hooks() {};

  private final Path certDir;
  private final AtomicFileWriter writer;
  private final Clock clock;
  private final Hooks hooks;

  public SymlinkSwapPublisher(Path certDir, AtomicFileWriter writer, Clock clock) {
    this(certDir, writer, clock, NONE);
  }

  SymlinkSwapPublisher(Path certDir, AtomicFileWriter writer, Clock clock, Hooks hooks) {
    this.certDir = requireNonNull(certDir, "certDir").toAbsolutePath();
    this.writer = requireNonNull(writer, "writer");
    this.clock = requireNonNull(clock, "clock");
    this.hooks = requireNonNull(hooks, "hooks");
  }

  /**
   * The digest of the version {@code ..data} points to, if the layout is in place.
   */
  public Optional<String> publishedDigest() {
    return currentVersion().map(v -> {
      Matcher m = VERSION.matcher(v);
      return m.matches() ? m.group(2) : null;
    });
  }

  /**
   * Whether {@code files} are all published with {@code digest}, each configured name a symlink
   * into {@code ..data}, and each file with its configured mode and owner (a mode changed out of
   * band makes this false, so the next publish corrects it).
   */
  public boolean isInPlace(List<OutputFile> files, String digest) {
    if (!publishedDigest().equals(Optional.of(shortDigest(digest)))) {
      return false;
    }
    try {
      for (OutputFile f : files) {
        Path link = certDir.resolve(f.name());
        if (!Files.isSymbolicLink(link) || !Files.readSymbolicLink(link).equals(Path.of(DATA, f.name()))) {
          return false;
        }
        Path real = certDir.resolve(DATA).resolve(f.name());
        if (!Files.isRegularFile(real)) {
          return false;
        }
        if (FileSpec.mode(Files.getPosixFilePermissions(real)) != f.spec().mode()) {
          return false;
        }
        if (f.spec().owner().isPresent()) {
          FileOwner o = f.spec().owner().get();
          if (o.uid().isPresent() && !o.uid().get().equals(Files.getAttribute(real, "unix:uid"))) {
            return false;
          }
          if (o.gid().isPresent() && !o.gid().get().equals(Files.getAttribute(real, "unix:gid"))) {
            return false;
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      return false;
    }
    return true;
  }

  /**
   * Writes {@code files} as a new version and switches {@code ..data} to it.
   *
   * @param digest identifies the content (hex, at least 16 characters)
   * @throws IOException nothing visible changed if the swap was not reached; the files in place stay
   */
  public void publish(List<OutputFile> files, String digest) throws IOException {
    requireNonNull(files, "files");
    String shortDigest = shortDigest(digest);
    Path version = newVersionDirectory(shortDigest);
    boolean swapped = false;
    try {
      // The version directory is invisible until the swap: each file is created under its final
      // name (no temporary name and rename), and one directory fsync covers all their entries.
      for (OutputFile f : files) {
        writer.writeNew(version.resolve(f.name()), f.content(), f.spec());
      }
      AtomicFileWriter.fsyncDirectory(version);

      // The swap: a fresh ..data_tmp symlink renamed over ..data, one rename(2).
      Path tmpLink = certDir.resolve(DATA_TMP);
      Files.deleteIfExists(tmpLink);
      Files.createSymbolicLink(tmpLink, version.getFileName());
      AtomicFileWriter.rename(tmpLink, certDir.resolve(DATA));
      swapped = true;
      AtomicFileWriter.fsyncDirectory(certDir);
    } finally {
      if (!swapped) {
        deleteTree(version);
      }
    }
    linkNames(files);
    removeOldVersions(version.getFileName().toString());
  }

  /** Makes each configured name a symlink to {@code ..data/<name>}, replacing a plain file atomically. */
  private void linkNames(List<OutputFile> files) throws IOException {
    boolean changed = false;
    for (OutputFile f : files) {
      Path link = certDir.resolve(f.name());
      Path target = Path.of(DATA, f.name());
      if (Files.isSymbolicLink(link) && Files.readSymbolicLink(link).equals(target)) {
        continue;
      }
      if (Files.isDirectory(link, LinkOption.NOFOLLOW_LINKS)) {
        throw new IOException(link + " is a directory (expected a file name Rotor may replace with a symlink)");
      }
      Path tmp = certDir.resolve("." + f.name() + ".link-tmp");
      Files.deleteIfExists(tmp);
      Files.createSymbolicLink(tmp, target);
      AtomicFileWriter.rename(tmp, link); // replaces a plain file written by spiffe-helper, atomically
      changed = true;
    }
    if (changed) {
      AtomicFileWriter.fsyncDirectory(certDir);
    }
  }

  private Path newVersionDirectory(String shortDigest) throws IOException {
    String base = ".." + STAMP.format(clock.instant()) + "_" + shortDigest;
    for (int n = 0; ; n++) {
      Path dir = certDir.resolve(n == 0 ? base : base + "_" + n);
      try {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
      } catch (java.nio.file.FileAlreadyExistsException e) {
        continue;
      }
      Files.setPosixFilePermissions(dir, DIR_MODE); // the umask may have removed bits readers need
      return dir;
    }
  }

  /** Keeps the current version and the newest other one; removes older versions. */
  private void removeOldVersions(String current) {
    List<String> versions = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(certDir)) {
      for (Path p : entries) {
        String name = p.getFileName().toString();
        if (VERSION.matcher(name).matches() && !name.equals(current)
            && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          versions.add(name);
        }
      }
    } catch (IOException e) {
      return; // housekeeping only; the next publish tries again
    }
    versions.sort(Comparator.reverseOrder()); // names start with a UTC timestamp: newest first
    for (String old : versions.subList(Math.min(1, versions.size()), versions.size())) {
      deleteTree(certDir.resolve(old));
    }
  }

  private Optional<String> currentVersion() {
    try {
      Path data = certDir.resolve(DATA);
      if (!Files.isSymbolicLink(data)) {
        return Optional.empty();
      }
      String target = Files.readSymbolicLink(data).toString();
      return Files.isDirectory(certDir.resolve(target), LinkOption.NOFOLLOW_LINKS)
          ? Optional.of(target) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  static String shortDigest(String digest) {
    if (digest.length() < 16 || !digest.matches("[0-9a-f]+")) {
      throw new IllegalArgumentException("digest: \"" + digest + "\" (expected at least 16 lower-case hex digits)");
    }
    return digest.substring(0, 16);
  }

  private void deleteTree(Path dir) {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      hooks.beforeUnlink(dir);
      for (Path p : entries) {
        Files.deleteIfExists(p);
      }
    } catch (NoSuchFileException e) {
      return;
    } catch (IOException e) {
      // best effort; fall through to try the directory itself
    }
    try {
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // best effort: a left-over version directory is harmless and removed by a later publish
    }
  }

  /** The names of the version directories present, oldest first (for tests and status). */
  List<String> versions() throws IOException {
    try (var s = Files.list(certDir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> VERSION.matcher(n).matches()).sorted()
          .collect(Collectors.toList());
    }
  }
}
