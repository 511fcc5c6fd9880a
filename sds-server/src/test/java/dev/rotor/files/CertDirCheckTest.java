package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Who may change cert_dir: every directory on its path, as the kernel resolves it. */
class CertDirCheckTest {

  private static final int OTHER = 65534;

  @TempDir Path root; // under /tmp: root-owned and sticky, so its entries stay put
  private int self;

  @BeforeEach
  void self() throws IOException {
    self = Principals.ownUid();
  }

  private Path dir(String name, int mode) throws IOException {
    Path d = Files.createDirectories(root.resolve(name));
    Files.setAttribute(d, "unix:mode", mode);
    return d;
  }

  private static void chown(Path p, int uid) throws IOException {
    Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
  }

  private List<String> problems(Path dir) throws IOException {
    return CertDirCheck.problems(dir, self);
  }

  @Test
  void ownDirectoryUnderTheTempDirectory_isFine() throws IOException {
    assertThat(Files.getAttribute(root.getParent(), "unix:mode")).as("/tmp is sticky").isEqualTo(041777);
    assertThat(problems(dir("certs", 0755))).isEmpty();
  }

  @Test
  void writableByOthersOrGroup_isAProblem() throws IOException {
    Path others = dir("others", 0777);
    Path group = dir("group", 0775);
    assertThat(problems(others)).containsExactly(others + " is writable by others (mode 0777)");
    assertThat(problems(group)).containsExactly(group + " is writable by its group (mode 0775)");
  }

  @Test
  void stickyAndWritableByOthers_isFine_onlyTheOwnerOfAnEntryMayRenameIt() throws IOException {
    // A Kubernetes memory emptyDir is a tmpfs root like this one (1777; 3777 with an fsGroup).
    assertThat(problems(dir("shared", 03777))).isEmpty();
  }

  @Test
  void aParentOthersCanWriteTo_isAProblem() throws IOException {
    Path parent = dir("parent", 0777);
    Path certs = dir("parent/certs", 0755);
    assertThat(problems(certs)).containsExactly(parent + " is writable by others (mode 0777)");
  }

  @Test
  void ownedByAnotherUser_isAProblem_theDirectoryOrAParent() throws IOException {
    assumeTrue(AtomicFileWriterTest.isRoot(), "giving a directory to another user needs root");
    Path theirs = dir("theirs", 0700);
    chown(theirs, OTHER);
    Path certs = dir("theirs/certs", 0755);
    assertThat(problems(theirs)).containsExactly(theirs + " is owned by uid 65534 (expected root or Rotor's uid "
        + self + ": a directory's owner can make it writable and rename what is in it)");
    assertThat(problems(certs)).singleElement().asString().startsWith(theirs + " is owned by uid 65534");
  }

  @Test
  void ownedByRotorsOwnUser_isFine() throws IOException {
    assumeTrue(AtomicFileWriterTest.isRoot(), "giving a directory to another user needs root");
    Path certs = dir("certs", 0700);
    chown(certs, 4321);
    assertThat(CertDirCheck.problems(certs, 4321)).isEmpty(); // Rotor running as uid 4321
  }

  @Test
  void symlinksAreFollowed_andTheirTargetsChecked() throws IOException {
    Path open = dir("open", 0777);
    Path certs = dir("open/certs", 0755);
    Files.createSymbolicLink(root.resolve("absolute"), certs);
    Files.createSymbolicLink(root.resolve("relative"), Path.of("open/../open/certs"));
    assertThat(problems(root.resolve("absolute"))).containsExactly(open + " is writable by others (mode 0777)");
    assertThat(problems(root.resolve("relative"))).containsExactly(open + " is writable by others (mode 0777)");

    Path fine = dir("fine", 0755);
    Files.createSymbolicLink(root.resolve("to-fine"), fine);
    assertThat(problems(root.resolve("to-fine"))).isEmpty();
  }

  @Test
  void aSymlinkInASharedDirectory_ownedByAnotherUser_isAProblem() throws IOException {
    assumeTrue(AtomicFileWriterTest.isRoot(), "giving a symlink to another user needs root");
    Path shared = dir("shared", 01777);
    Path link = Files.createSymbolicLink(shared.resolve("certs"), dir("real", 0755));
    chown(link, OTHER);
    assertThat(problems(link)).containsExactly(link + " is a symlink owned by uid 65534 in a directory others can"
        + " write to (its owner can point it elsewhere)");
  }
}
