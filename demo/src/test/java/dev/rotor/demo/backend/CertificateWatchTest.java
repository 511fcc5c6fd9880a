package dev.rotor.demo.backend;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateWatchTest {
  @TempDir Path dir;

  private final AtomicInteger retired = new AtomicInteger();

  @Test
  void firstRead_retiresNothing_andTheSameContentAgain_retiresNothing() throws Exception {
    Path cert = Files.writeString(dir.resolve("svid.pem"), "generation 1");
    CertificateWatch watch = new CertificateWatch(cert, retired::incrementAndGet);

    assertThat(watch.check()).isFalse();
    assertThat(watch.check()).isFalse();
    assertThat(retired).hasValue(0);
  }

  @Test
  void replacedContent_retiresThePoolsConnections_once() throws Exception {
    Path cert = Files.writeString(dir.resolve("svid.pem"), "generation 1");
    CertificateWatch watch = new CertificateWatch(cert, retired::incrementAndGet);
    watch.check();

    Files.writeString(cert, "generation 2");

    assertThat(watch.check()).isTrue();
    assertThat(watch.check()).isFalse();
    assertThat(retired).hasValue(1);
  }

  @Test
  void fileNotThereYet_retiresNothing_andItsFirstAppearanceIsNoRotation() throws Exception {
    Path cert = dir.resolve("svid.pem");
    CertificateWatch watch = new CertificateWatch(cert, retired::incrementAndGet);

    assertThat(watch.check()).isFalse();
    Files.writeString(cert, "generation 1");
    assertThat(watch.check()).isFalse();
    assertThat(retired).hasValue(0);
  }
}
