package dev.rotor.transport;

import static org.assertj.core.api.Assertions.assertThat;

import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SvidKeyManagerTest {

  private static final Instant NOW = Instant.parse("2030-01-01T12:00:00Z");

  private final TestCa ca = TestCa.create("rotor.test", NOW);
  private final AtomicReference<Optional<IdentitySnapshot>> identities = new AtomicReference<>(Optional.empty());
  private final SvidKeyManager keyManager = new SvidKeyManager(identities::get);

  @Test
  void noSvid_choosesNoAlias() {
    assertThat(keyManager.chooseEngineServerAlias("EC", null, null)).isNull();
    assertThat(keyManager.chooseEngineClientAlias(new String[] {"EC"}, null, null)).isNull();
  }

  @Test
  void currentSvid_isPresented() {
    Svid svid = svid("/rotor");
    identities.set(Optional.of(TestCa.snapshot(svid, ca.bundle())));

    String alias = keyManager.chooseEngineServerAlias("EC", null, null);

    assertThat(keyManager.getCertificateChain(alias)).containsExactlyElementsOf(svid.chain());
    assertThat(keyManager.getPrivateKey(alias)).isSameAs(svid.privateKey());
  }

  @Test
  void keyTypeTheSvidCannotServe_choosesNoAlias() {
    identities.set(Optional.of(TestCa.snapshot(svid("/rotor"), ca.bundle())));

    assertThat(keyManager.chooseEngineServerAlias("RSA", null, null)).isNull();
  }

  @Test
  void rotationBetweenChoosingAndFetching_stillYieldsTheChosenPair() {
    Svid first = svid("/rotor");
    identities.set(Optional.of(TestCa.snapshot(first, ca.bundle())));
    String alias = keyManager.chooseEngineServerAlias("EC", null, null);

    Svid second = svid("/rotor");
    identities.set(Optional.of(TestCa.snapshot(second, ca.bundle())));

    assertThat(keyManager.getCertificateChain(alias)[0]).isEqualTo(first.leaf());
    assertThat(keyManager.getPrivateKey(alias)).isSameAs(first.privateKey());
    String next = keyManager.chooseEngineServerAlias("EC", null, null);
    assertThat(next).isNotEqualTo(alias);
    assertThat(keyManager.getCertificateChain(next)[0]).isEqualTo(second.leaf());
  }

  @Test
  void unknownAlias_yieldsNothing() {
    identities.set(Optional.of(TestCa.snapshot(svid("/rotor"), ca.bundle())));

    assertThat(keyManager.getCertificateChain("svid-unknown")).isNull();
    assertThat(keyManager.getPrivateKey("svid-unknown")).isNull();
  }

  private Svid svid(String path) {
    return ca.issue(path, NOW.minusSeconds(60), NOW.plusSeconds(3600));
  }
}
