package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>Every write, unlink and chmod is relative to a directory opened once ({@link DirectoryHandle})
 * and never follows a symlink, and only directories Rotor created are ever removed: a user who can
 * write to cert_dir cannot make Rotor delete, write or chmod anything outside it by swapping a
 * directory for a symlink mid-way (issue 13). Such a cert_dir is refused at start unless accepted
 * explicitly ({@link CertDirCheck}).
 *
 * <p>Not thread-safe: one writer per cert_dir, called from one thread.
 */
public final class SymlinkSwapPublisher {

  private static final Logger log = LoggerFactory.getLogger(SymlinkSwapPublisher.class);

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
    try (DirectoryHandle dir = DirectoryHandle.open(certDir)) {
      String version;
      Object versionKey;
      try (DirectoryHandle v = newVersionDirectory(dir, shortDigest)) {
        version = v.path().getFileName().toString();
        versionKey = v.attributes().fileKey();
        boolean swapped = false;
        try {
          // The version directory is invisible until the swap: each file is created under its final
          // name (no temporary name and rename), and one directory fsync covers all their entries.
          for (OutputFile f : files) {
            writer.writeNew(v, f.name(), f.content(), f.spec());
          }
          v.fsync();
          if (!isDirectory(dir, version, versionKey)) {
            throw new IOException(dir.path(version) + " was replaced while Rotor wrote into it (can another user"
                + " write to cert_dir?); not published");
          }
          // The swap: a fresh ..data_tmp symlink renamed over ..data, one rename(2).
          dir.deleteIfExists(DATA_TMP);
          Files.createSymbolicLink(dir.path(DATA_TMP), Path.of(version)); // no symlinkat in Java (DirectoryHandle)
          dir.rename(DATA_TMP, DATA);
          swapped = true;
          dir.fsync();
        } finally {
          if (!swapped) {
            remove(dir, version, v);
          }
        }
      }
      linkNames(dir, files);
      removeOldVersions(dir, version, versionKey);
    }
  }

  /** Makes each configured name a symlink to {@code ..data/<name>}, replacing a plain file atomically. */
  private void linkNames(DirectoryHandle dir, List<OutputFile> files) throws IOException {
    boolean changed = false;
    for (OutputFile f : files) {
      Path link = dir.path(f.name());
      Path target = Path.of(DATA, f.name());
      if (Files.isSymbolicLink(link) && Files.readSymbolicLink(link).equals(target)) {
        continue;
      }
      if (dir.attributes(f.name()).map(PosixFileAttributes::isDirectory).orElse(false)) {
        throw new IOException(link + " is a directory (expected a file name Rotor may replace with a symlink)");
      }
      String tmp = "." + f.name() + ".link-tmp";
      dir.deleteIfExists(tmp);
      Files.createSymbolicLink(dir.path(tmp), target); // no symlinkat in Java (DirectoryHandle)
      dir.rename(tmp, f.name()); // replaces a plain file written by spiffe-helper, atomically
      changed = true;
    }
    if (changed) {
      dir.fsync();
    }
  }

  /**
   * Creates a new, empty version directory and returns it open. Created by path (Java has no
   * mkdirat), then opened without following a symlink and checked to be Rotor's and empty, so that
   * nothing is ever written into a directory someone else put at that name.
   */
  private DirectoryHandle newVersionDirectory(DirectoryHandle dir, String shortDigest) throws IOException {
    String base = ".." + STAMP.format(clock.instant()) + "_" + shortDigest;
    UserPrincipal rotor = Principals.user(Principals.ownUid());
    for (int n = 0; ; n++) {
      String name = n == 0 ? base : base + "_" + n;
      try {
        Files.createDirectory(dir.path(name), PosixFilePermissions.asFileAttribute(DIR_MODE));
      } catch (FileAlreadyExistsException e) {
        continue;
      }
      DirectoryHandle v = dir.openDirectory(name);
      try {
        if (!v.attributes().owner().equals(rotor) || !v.names().isEmpty()) {
          throw new IOException(dir.path(name) + " is not the empty directory Rotor just created (can another user"
              + " write to cert_dir?)");
        }
        v.setMode(DIR_MODE); // the umask may have removed bits readers need
        return v;
      } catch (IOException | RuntimeException e) {
        v.close();
        throw e;
      }
    }
  }

  /**
   * Keeps the current version and the newest other one; removes older versions. Only directories
   * Rotor created are counted and removed: owned by Rotor's UID, and still the same directory
   * (file key) when opened as when listed. Anything else with a version's name is left alone.
   */
  private void removeOldVersions(DirectoryHandle dir, String current, Object currentKey) {
    List<Listed> versions = new ArrayList<>();
    List<String> foreign = new ArrayList<>();
    UserPrincipal rotor;
    try {
      rotor = Principals.user(Principals.ownUid());
      for (String name : dir.names()) {
        if (!VERSION.matcher(name).matches() || name.equals(current)) {
          continue;
        }
        Optional<PosixFileAttributes> a = dir.attributes(name);
        if (a.isEmpty() || !a.get().isDirectory() || a.get().fileKey().equals(currentKey)) {
          continue; // a symlink is nobody's version; never followed
        }
        if (a.get().owner().equals(rotor)) {
          versions.add(new Listed(name, a.get().fileKey()));
        } else {
          foreign.add(name + " (owner " + a.get().owner().getName() + ")");
        }
      }
    } catch (IOException | RuntimeException e) {
      log.warn("{}: cannot list the old versions to remove ({}); the next publish tries again", certDir, e.toString());
      return; // housekeeping only
    }
    if (!foreign.isEmpty()) {
      log.warn("{}: {} director{} named like a version but not created by Rotor, left alone (another user can write"
          + " to cert_dir): {}", certDir, foreign.size(), foreign.size() == 1 ? "y" : "ies",
          foreign.subList(0, Math.min(3, foreign.size())));
    }
    versions.sort(Comparator.comparing(Listed::name).reversed()); // names start with a UTC timestamp: newest first
    for (Listed old : versions.subList(Math.min(1, versions.size()), versions.size())) {
      try (DirectoryHandle v = dir.openDirectory(old.name())) {
        PosixFileAttributes opened = v.attributes();
        if (!opened.fileKey().equals(old.fileKey()) || !opened.owner().equals(rotor)) {
          log.warn("{} was replaced between listing and opening it; left alone", dir.path(old.name()));
          continue;
        }
        remove(dir, old.name(), v);
      } catch (IOException | RuntimeException e) {
        log.warn("cannot remove the old version {} ({}); the next publish tries again", dir.path(old.name()),
            e.toString());
      }
    }
  }

  /** A version directory as listed: its name and file key (device and inode). */
  private record Listed(String name, Object fileKey) {}

  /**
   * Unlinks every entry of {@code opened}, relative to it, then the directory {@code name} of
   * {@code dir} if that is still {@code opened}. Best effort: a left-over version directory is
   * harmless and removed by a later publish.
   */
  private void remove(DirectoryHandle dir, String name, DirectoryHandle opened) {
    try {
      List<String> entries = opened.names();
      hooks.beforeUnlink(dir.path(name));
      for (String entry : entries) {
        opened.deleteIfExists(entry);
      }
      if (isDirectory(dir, name, opened.attributes().fileKey())) {
        dir.deleteDirectory(name);
      } else {
        log.warn("{} was replaced while Rotor removed it; its entries were removed from the directory Rotor had"
            + " opened, the name is left alone", dir.path(name));
      }
    } catch (IOException | RuntimeException e) {
      log.warn("cannot remove the version directory {} ({}); the next publish tries again", dir.path(name),
          e.toString());
    }
  }

  /** Whether {@code name} in {@code dir} is the directory with {@code fileKey} (not a symlink to it). */
  private static boolean isDirectory(DirectoryHandle dir, String name, Object fileKey) throws IOException {
    Optional<PosixFileAttributes> a = dir.attributes(name);
    return a.isPresent() && a.get().isDirectory() && a.get().fileKey().equals(fileKey);
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

  /** The names of the version directories present, oldest first (for tests and status). */
  List<String> versions() throws IOException {
    try (var s = Files.list(certDir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> VERSION.matcher(n).matches()).sorted()
          .collect(Collectors.toList());
    }
  }
}
