package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.rotor.testing.FakeScheduler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The versioned-directory layout, its one-rename swap, and what a failed publish leaves. */
class SymlinkSwapPublisherTest {

  @TempDir Path dir;
  private final FakeScheduler time = new FakeScheduler();

  private SymlinkSwapPublisher publisher() {
    return new SymlinkSwapPublisher(dir, new AtomicFileWriter(), time.clock());
  }

  private static List<OutputFile> files(String version) {
    return List.of(
        new OutputFile("svid.pem", ("cert " + version).getBytes(StandardCharsets.UTF_8), FileSpec.of(0644)),
        new OutputFile("svid_key.pem", ("key " + version).getBytes(StandardCharsets.UTF_8), FileSpec.of(0600)));
  }

  private static String digest(int n) {
    return String.format("%016x", n) + "ffff";
  }

  @Test
  void publish_createsTheLayout() throws IOException {
    SymlinkSwapPublisher p = publisher();
    p.publish(files("1"), digest(1));

    Path data = dir.resolve("..data");
    assertThat(Files.isSymbolicLink(data)).isTrue();
    String version = Files.readSymbolicLink(data).toString();
    assertThat(version).isEqualTo("..2026_01_01_00_00_00.000000000_0000000000000001");
    assertThat(Files.readSymbolicLink(dir.resolve("svid.pem"))).isEqualTo(Path.of("..data/svid.pem"));
    assertThat(Files.readSymbolicLink(dir.resolve("svid_key.pem"))).isEqualTo(Path.of("..data/svid_key.pem"));
    assertThat(Files.readString(dir.resolve("svid.pem"))).isEqualTo("cert 1");
    assertThat(Files.readString(dir.resolve("svid_key.pem"))).isEqualTo("key 1");
    assertThat(FileSpec.mode(Files.getPosixFilePermissions(dir.resolve("svid_key.pem")))).isEqualTo(0600);
    assertThat(FileSpec.mode(Files.getPosixFilePermissions(dir.resolve(version)))).isEqualTo(0755);
    assertThat(p.publishedDigest()).contains("0000000000000001");
    assertThat(p.isInPlace(files("1"), digest(1))).isTrue();
    assertThat(p.isInPlace(files("1"), digest(2))).isFalse();
  }

  @Test
  void republish_keepsTheCurrentAndThePreviousVersionOnly() throws IOException {
    SymlinkSwapPublisher p = publisher();
    for (int i = 1; i <= 4; i++) {
      time.advance(Duration.ofMinutes(1));
      p.publish(files(String.valueOf(i)), digest(i));
    }
    assertThat(p.versions()).containsExactly(
        "..2026_01_01_00_03_00.000000000_0000000000000003", "..2026_01_01_00_04_00.000000000_0000000000000004");
    assertThat(Files.readString(dir.resolve("svid_key.pem"))).isEqualTo("key 4");
  }

  @Test
  void sameInstantAndDigest_getsADistinctDirectory() throws IOException {
    SymlinkSwapPublisher p = publisher();
    p.publish(files("1"), digest(1));
    p.publish(files("1"), digest(1));
    assertThat(p.versions()).hasSize(2);
    assertThat(p.publishedDigest()).contains("0000000000000001");
  }

  @Test
  void modeChangedOutOfBand_isNotInPlace_andTheNextPublishCorrectsIt() throws IOException {
    SymlinkSwapPublisher p = publisher();
    p.publish(files("1"), digest(1));
    Files.setPosixFilePermissions(dir.resolve("svid_key.pem"), PosixFilePermissions.fromString("rw-r--r--"));
    assertThat(p.isInPlace(files("1"), digest(1))).isFalse();
    p.publish(files("1"), digest(1));
    assertThat(p.isInPlace(files("1"), digest(1))).isTrue();
    assertThat(FileSpec.mode(Files.getPosixFilePermissions(dir.resolve("svid_key.pem")))).isEqualTo(0600);
  }

  @Test
  void plainFilesLeftBySpiffeHelper_areReplacedBySymlinks() throws IOException {
    Files.writeString(dir.resolve("svid.pem"), "old plain cert");
    Files.writeString(dir.resolve("svid_key.pem"), "old plain key");
    publisher().publish(files("1"), digest(1));
    assertThat(Files.isSymbolicLink(dir.resolve("svid.pem"))).isTrue();
    assertThat(Files.readString(dir.resolve("svid.pem"))).isEqualTo("cert 1");
    assertThat(Files.readString(dir.resolve("svid_key.pem"))).isEqualTo("key 1");
  }

  @Test
  void failedPublish_changesNothingVisible_andLeavesNoVersionBehind() throws IOException {
    publisher().publish(files("1"), digest(1));
    int[] writes = {0};
    SymlinkSwapPublisher failing = new SymlinkSwapPublisher(dir, new AtomicFileWriter(new AtomicFileWriter.Hooks() {
      @Override
      public void afterContent(Path file) throws IOException {
        if (++writes[0] == 2) {
          throw new IOException("No space left on device"); // the key, after the certificate was written
        }
      }
    }), time.clock());
    time.advance(Duration.ofMinutes(1));
    assertThatThrownBy(() -> failing.publish(files("2"), digest(2))).hasMessage("No space left on device");

    assertThat(Files.readString(dir.resolve("svid.pem"))).isEqualTo("cert 1");
    assertThat(Files.readString(dir.resolve("svid_key.pem"))).isEqualTo("key 1");
    assertThat(failing.publishedDigest()).contains("0000000000000001");
    assertThat(failing.versions()).hasSize(1);
  }

  @Test
  void aDirectoryAtAConfiguredName_isAnError() throws IOException {
    Files.createDirectory(dir.resolve("svid.pem"));
    assertThatThrownBy(() -> publisher().publish(files("1"), digest(1))).hasMessageContaining("is a directory");
    assertThat(Files.isDirectory(dir.resolve("svid.pem"), LinkOption.NOFOLLOW_LINKS)).isTrue();
  }
}
