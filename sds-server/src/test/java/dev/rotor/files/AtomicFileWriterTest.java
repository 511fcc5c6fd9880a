package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One file replaced atomically, with its mode and owner from the first byte on. */
class AtomicFileWriterTest {

  @TempDir Path dir;

  private static int mode(Path p) throws IOException {
    return FileSpec.mode(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  private List<String> entries() throws IOException {
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void write_replacesContent_andLeavesNoTemporaryFile() throws IOException {
    Path key = dir.resolve("key.pem");
    AtomicFileWriter w = new AtomicFileWriter();
    w.write(key, bytes("one"), FileSpec.of(0600));
    w.write(key, bytes("two"), FileSpec.of(0600));
    assertThat(Files.readString(key)).isEqualTo("two");
    assertThat(mode(key)).isEqualTo(0600);
    assertThat(entries()).containsExactly("key.pem");
  }

  @Test
  void temporaryFile_hasTheFinalModeBeforeTheFirstByte_evenWhenTheUmaskWouldRemoveBits() throws IOException {
    // 0666 passes through a umask of 022 as 0644 at creation; the explicit chmod must restore it
    // before any content exists. The hook runs after creation and before the write.
    List<String> seen = new ArrayList<>();
    AtomicFileWriter w = new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterCreate(Path temp) throws IOException {
        seen.add(FileSpec.octal(mode(temp)) + " size=" + Files.size(temp) + " dir=" + temp.getParent().equals(dir));
      }
    });
    w.write(dir.resolve("a"), bytes("x"), FileSpec.of(0666));
    w.write(dir.resolve("k"), bytes("secret"), FileSpec.of(0400));
    assertThat(seen).containsExactly("0666 size=0 dir=true", "0400 size=0 dir=true");
    assertThat(mode(dir.resolve("a"))).isEqualTo(0666);
    assertThat(mode(dir.resolve("k"))).isEqualTo(0400);
  }

  @Test
  void aConcurrentWatcher_neverSeesKeyBytesUnderAWiderMode() throws Exception {
    Path key = dir.resolve("key.pem");
    AtomicBoolean stop = new AtomicBoolean();
    List<String> violations = new ArrayList<>();
    long[] observations = {0};
    Thread watcher = new Thread(() -> {
      while (!stop.get()) {
        try (var s = Files.list(dir)) {
          for (Path p : s.toList()) {
            try {
              int m = mode(p);
              long size = Files.size(p);
              observations[0]++;
              if (size > 0 && m != 0600) {
                violations.add(p.getFileName() + " " + FileSpec.octal(m) + " size " + size);
              }
            } catch (IOException gone) {
              // renamed or removed between list and stat
            }
          }
        } catch (IOException e) {
          // directory listing raced with a rename
        }
      }
    });
    watcher.start();
    AtomicFileWriter w = new AtomicFileWriter();
    for (int i = 0; i < 300; i++) {
      w.write(key, bytes("-----BEGIN PRIVATE KEY-----" + i), FileSpec.of(0600));
    }
    stop.set(true);
    watcher.join();
    assertThat(violations).isEmpty();
    assertThat(observations[0]).isPositive();
  }

  @Test
  void modeChangedOutOfBand_isCorrectedByTheNextWrite() throws IOException {
    Path cert = dir.resolve("svid.pem");
    AtomicFileWriter w = new AtomicFileWriter();
    w.write(cert, bytes("one"), FileSpec.of(0644));
    Files.setPosixFilePermissions(cert, PosixFilePermissions.fromString("rw-rw-rw-"));
    w.write(cert, bytes("two"), FileSpec.of(0644));
    assertThat(mode(cert)).isEqualTo(0644);
  }

  @Test
  void aModeWithoutOwnerWrite_doesNotBreakTheNextWrite() throws IOException {
    // spiffe-helper #422: a 0444 file cannot be truncated by its (non-root) owner. A new inode can.
    Path cert = dir.resolve("svid.pem");
    AtomicFileWriter w = new AtomicFileWriter();
    w.write(cert, bytes("one"), FileSpec.of(0444));
    w.write(cert, bytes("two"), FileSpec.of(0444));
    assertThat(Files.readString(cert)).isEqualTo("two");
    assertThat(mode(cert)).isEqualTo(0444);
  }

  @Test
  void failedWrite_beforeTheRename_leavesTheOldFileIntact_andNoTemporaryFile() throws IOException {
    Path key = dir.resolve("key.pem");
    new AtomicFileWriter().write(key, bytes("old"), FileSpec.of(0600));
    AtomicFileWriter failing = new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterContent(Path file) throws IOException {
        throw new IOException("No space left on device");
      }
    });
    assertThatThrownBy(() -> failing.write(key, bytes("new"), FileSpec.of(0600)))
        .hasMessage("No space left on device");
    assertThat(Files.readString(key)).isEqualTo("old");
    assertThat(entries()).containsExactly("key.pem");
  }

  @Test
  void failedWrite_whileWriting_leavesTheOldFileIntact() throws IOException {
    Path key = dir.resolve("key.pem");
    new AtomicFileWriter().write(key, bytes("old"), FileSpec.of(0600));
    AtomicFileWriter failing = new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterCreate(Path temp) throws IOException {
        throw new IOException("Input/output error");
      }
    });
    assertThatThrownBy(() -> failing.write(key, bytes("new"), FileSpec.of(0600))).isInstanceOf(IOException.class);
    assertThat(Files.readString(key)).isEqualTo("old");
    assertThat(entries()).containsExactly("key.pem");
  }

  @Test
  void symlinkAtTheTarget_isReplaced_notFollowed() throws IOException {
    Path elsewhere = Files.writeString(dir.resolve("elsewhere"), "untouched");
    Path target = dir.resolve("svid.pem");
    Files.createSymbolicLink(target, elsewhere.getFileName());
    new AtomicFileWriter().write(target, bytes("new"), FileSpec.of(0644));
    assertThat(Files.isSymbolicLink(target)).isFalse();
    assertThat(Files.readString(target)).isEqualTo("new");
    assertThat(Files.readString(elsewhere)).isEqualTo("untouched");
  }

  @Test
  void owner_isApplied() throws IOException {
    assumeTrue(isRoot(), "changing a file's owner needs root");
    Path key = dir.resolve("key.pem");
    new AtomicFileWriter().write(key, bytes("k"), new FileSpec(0600, Optional.of(FileOwner.parse("4321:8765"))));
    assertThat(Files.getAttribute(key, "unix:uid")).isEqualTo(4321);
    assertThat(Files.getAttribute(key, "unix:gid")).isEqualTo(8765);
    assertThat(mode(key)).isEqualTo(0600);
  }

  @Test
  void ownerThatCannotBeApplied_failsTheWrite_andKeepsTheOldFile() throws IOException {
    assumeTrue(!isRoot(), "root may give files to anyone");
    Path key = dir.resolve("key.pem");
    new AtomicFileWriter().write(key, bytes("old"), FileSpec.of(0600));
    assertThatThrownBy(() -> new AtomicFileWriter().write(key, bytes("new"),
        new FileSpec(0600, Optional.of(FileOwner.parse("0:0"))))).isInstanceOf(IOException.class);
    assertThat(Files.readString(key)).isEqualTo("old");
    assertThat(entries()).containsExactly("key.pem");
  }

  @Test
  void writeNew_createsTheFileUnderItsFinalName_withTheFinalModeBeforeTheFirstByte() throws IOException {
    List<String> seen = new ArrayList<>();
    AtomicFileWriter w = new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterCreate(Path file) throws IOException {
        seen.add(file.getFileName() + " " + FileSpec.octal(mode(file)) + " size=" + Files.size(file));
      }
    });
    w.writeNew(dir.resolve("svid_key.pem"), bytes("secret"), FileSpec.of(0600));
    w.writeNew(dir.resolve("svid.pem"), bytes("cert"), FileSpec.of(0666));
    assertThat(seen).containsExactly("svid_key.pem 0600 size=0", "svid.pem 0666 size=0");
    assertThat(Files.readString(dir.resolve("svid_key.pem"))).isEqualTo("secret");
    assertThat(mode(dir.resolve("svid.pem"))).isEqualTo(0666);
    assertThat(entries()).containsExactly("svid.pem", "svid_key.pem");
  }

  @Test
  void writeNew_refusesAnythingAlreadyAtTheName_andNeverFollowsASymlink() throws IOException {
    Path elsewhere = Files.writeString(dir.resolve("elsewhere"), "untouched");
    Path target = dir.resolve("svid_key.pem");
    Files.createSymbolicLink(target, elsewhere.getFileName());
    assertThatThrownBy(() -> new AtomicFileWriter().writeNew(target, bytes("secret"), FileSpec.of(0600)))
        .isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    assertThat(Files.readString(elsewhere)).isEqualTo("untouched");
    assertThat(Files.isSymbolicLink(target)).isTrue();
  }

  @Test
  void writeNew_thatFails_leavesNoFileBehind() throws IOException {
    AtomicFileWriter failing = new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterContent(Path file) throws IOException {
        throw new IOException("No space left on device");
      }
    });
    assertThatThrownBy(() -> failing.writeNew(dir.resolve("svid_key.pem"), bytes("secret"), FileSpec.of(0600)))
        .hasMessage("No space left on device");
    assertThat(entries()).isEmpty();
  }

  static boolean isRoot() {
    try {
      return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    } catch (IOException e) {
      return false;
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
