package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.rotor.testing.FakeScheduler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13, finding 1: a user who can write to cert_dir swaps a directory Rotor is working in for
 * a symlink, so that Rotor (often root) deletes, writes or chmods files elsewhere. Each test plays
 * the attacker at the exact moment through a seam (no timing race), and checks that nothing
 * outside cert_dir changes: every open, unlink and chmod is relative to a directory handle Rotor
 * opened and checked, and never follows a symlink.
 */
class CertDirAttackTest {

  @TempDir Path root;
  private Path certs;
  private Path victim;
  private final FakeScheduler time = new FakeScheduler();

  @BeforeEach
  void layout() throws IOException {
    certs = Files.createDirectory(root.resolve("certs"));
    victim = Files.createDirectory(root.resolve("victim")); // any directory outside cert_dir, e.g. /etc
  }

  private static List<OutputFile> files(int version) {
    return List.of(
        new OutputFile("svid.pem", ("cert " + version).getBytes(StandardCharsets.UTF_8), FileSpec.of(0644)),
        new OutputFile("svid_key.pem", ("key " + version).getBytes(StandardCharsets.UTF_8), FileSpec.of(0600)));
  }

  private static String digest(int n) {
    return String.format("%016x", n) + "ffff";
  }

  /** A root-owned 0600 file in the victim directory. */
  private Path precious(String name) throws IOException {
    Path p = Files.writeString(victim.resolve(name), "precious " + name);
    Files.setPosixFilePermissions(p, FileSpec.permissions(0600));
    return p;
  }

  /** What the attacker does: moves {@code dir} aside and puts a symlink to the victim at its name. */
  private Path swapForSymlinkToVictim(Path dir) throws IOException {
    Path away = dir.resolveSibling("attacker-moved");
    Files.move(dir, away);
    Files.createSymbolicLink(dir, victim);
    return away;
  }

  private static List<String> entries(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void oldVersionSwappedForASymlinkBetweenListingAndUnlink_deletesNothingOutsideCertDir() throws IOException {
    precious("svid.pem");
    precious("svid_key.pem");
    List<Path> moved = new ArrayList<>();
    SymlinkSwapPublisher p = new SymlinkSwapPublisher(certs, new AtomicFileWriter(), time.clock(),
        new SymlinkSwapPublisher.Hooks() {
          @Override
          public void beforeUnlink(Path versionDir) throws IOException {
            moved.add(swapForSymlinkToVictim(versionDir));
          }
        });
    for (int i = 1; i <= 3; i++) {
      time.advance(Duration.ofMinutes(1));
      p.publish(files(i), digest(i)); // the third publish removes the first version
    }

    assertThat(moved).as("the attacker's moment came: Rotor removed the oldest version").hasSize(1);
    assertThat(Files.readString(victim.resolve("svid.pem"))).isEqualTo("precious svid.pem");
    assertThat(Files.readString(victim.resolve("svid_key.pem"))).isEqualTo("precious svid_key.pem");
    assertThat(entries(moved.get(0))).as("the entries were unlinked in the directory Rotor had opened").isEmpty();
    assertThat(Files.readString(certs.resolve("svid_key.pem"))).isEqualTo("key 3");
  }

  @Test
  void failedPublish_versionSwappedForASymlink_cleanupDeletesNothingOutsideCertDir() throws IOException {
    precious("shadow");
    AtomicFileWriter swappingThenFailing = new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterContent(Path file) throws IOException {
        swapForSymlinkToVictim(file.getParent());
        throw new IOException("No space left on device"); // the failure path removes the version
      }
    });
    SymlinkSwapPublisher p = new SymlinkSwapPublisher(certs, swappingThenFailing, time.clock());
    assertThatThrownBy(() -> p.publish(files(1), digest(1))).isInstanceOf(IOException.class);

    assertThat(entries(victim)).containsExactly("shadow");
    assertThat(Files.readString(victim.resolve("shadow"))).isEqualTo("precious shadow");
  }

  @Test
  void versionSwappedForASymlinkWhileWritten_nothingIsWrittenOutsideCertDir_andItIsNotPublished() throws IOException {
    AtomicFileWriter swapping = new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterContent(Path file) throws IOException {
        if (file.getFileName().toString().equals("svid.pem")) {
          swapForSymlinkToVictim(file.getParent()); // before the key is written
        }
      }
    });
    SymlinkSwapPublisher p = new SymlinkSwapPublisher(certs, swapping, time.clock());
    assertThatThrownBy(() -> p.publish(files(1), digest(1))).isInstanceOf(IOException.class);

    assertThat(entries(victim)).as("no key written through the symlink").isEmpty();
    assertThat(Files.exists(certs.resolve("..data"), LinkOption.NOFOLLOW_LINKS)).as("nothing published").isFalse();
  }

  @Test
  void temporaryFileSwappedForASymlinkBeforeItsMode_neverChmodsTheSymlinksTarget() throws IOException {
    Path shadow = precious("shadow");
    AtomicFileWriter w = new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterOpen(Path file) throws IOException {
        Files.delete(file);
        Files.createSymbolicLink(file, shadow);
      }
    });
    // A JWT file: written next to its final name in cert_dir, the directory the attacker can write.
    assertThatThrownBy(() -> w.write(certs.resolve("token.jwt"), "token".getBytes(StandardCharsets.UTF_8),
        FileSpec.of(0644))).isInstanceOf(IOException.class);

    assertThat(FileSpec.mode(Files.getPosixFilePermissions(shadow))).as("mode of the file outside").isEqualTo(0600);
    assertThat(Files.exists(certs.resolve("token.jwt"), LinkOption.NOFOLLOW_LINKS)).isFalse();
  }

  @Test
  void versionDirectoriesRotorDidNotCreate_areNeverDeleted_norKeptInPlaceOfThePreviousVersion() throws IOException {
    assumeTrue(AtomicFileWriterTest.isRoot(), "planting directories owned by another user needs root");
    Files.setAttribute(certs, "unix:mode", 01777); // sticky and world-writable, like /tmp
    SymlinkSwapPublisher p = new SymlinkSwapPublisher(certs, new AtomicFileWriter(), time.clock());
    for (int i = 1; i <= 2; i++) {
      time.advance(Duration.ofMinutes(1));
      p.publish(files(i), digest(i));
    }
    // uid 65534 plants a "newest" and an "oldest" version directory.
    List<Path> planted = new ArrayList<>();
    for (String name : List.of("..2099_01_01_00_00_00.000000000_ffffffffffffffff",
        "..2000_01_01_00_00_00.000000000_eeeeeeeeeeeeeeee")) {
      Path d = Files.createDirectory(certs.resolve(name));
      Files.writeString(d.resolve("svid.pem"), "the attacker's");
      for (Path x : List.of(d.resolve("svid.pem"), d)) {
        Files.setAttribute(x, "unix:uid", 65534, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(x, "unix:gid", 65534, LinkOption.NOFOLLOW_LINKS);
      }
      planted.add(d);
    }
    time.advance(Duration.ofMinutes(1));
    p.publish(files(3), digest(3));

    for (Path d : planted) {
      assertThat(entries(d)).as("%s", d.getFileName()).containsExactly("svid.pem");
    }
    assertThat(p.versions()).containsExactly(planted.get(1).getFileName().toString(),
        "..2026_01_01_00_02_00.000000000_0000000000000002", "..2026_01_01_00_03_00.000000000_0000000000000003",
        planted.get(0).getFileName().toString());
  }
}
