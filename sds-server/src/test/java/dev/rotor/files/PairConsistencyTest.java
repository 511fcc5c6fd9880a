package dev.rotor.files;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.hash.Hashing;
import dev.rotor.identity.Pem;
import dev.rotor.identity.Svid;
import dev.rotor.source.dev.DevCa;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proof that certificate and key are published as a pair: readers open the certificate, then
 * the key, in a tight loop while the writer rotates {@value #ROTATIONS} times, and every read is
 * checked (the key must be the one whose public half is in the certificate).
 *
 * <p>Rotor's symlink swap: a reader that opens both files between two swaps (what a program that
 * reloads on Rotor's signal does) never sees a mismatch, and a reader that resolves {@code ..data}
 * once never does either. Only a read that spans a swap can mix, and it is counted separately. A
 * naive in-place writer (spiffe-helper's way: truncate and rewrite certificate, then key) is run
 * through the same readers for contrast; its numbers are printed, not asserted, because they
 * depend on scheduling.
 */
class PairConsistencyTest {

  static final int ROTATIONS = 200;

  /** Certificate PEM and key PEM of each SVID, checked to belong together. */
  private record Pair(byte[] cert, byte[] key) {}

  private static final List<Pair> PAIRS = new ArrayList<>();
  /** sha256(key PEM) -> sha256(certificate PEM) of the pair it belongs to. */
  private static final Map<String, String> CERT_OF_KEY = new HashMap<>();
  private static byte[] bundle;

  @TempDir Path dir;

  @BeforeAll
  static void issuePairs() throws GeneralSecurityException {
    TrustDomain td = TrustDomain.parse("example.org");
    DevCa ca = new DevCa(td, Duration.ofDays(1), Duration.ZERO, Clock.systemUTC());
    bundle = Pem.certificates(ca.bundle().authorities());
    for (int i = 0; i < ROTATIONS + 1; i++) {
      Svid s = ca.issue(SpiffeId.parse("spiffe://example.org/db"), Duration.ofHours(1));
      // The key must verify a signature made with the certificate's public key: the pair is real.
      Signature sign = Signature.getInstance("SHA256withECDSA");
      sign.initSign(s.privateKey());
      sign.update(new byte[] {1, 2, 3});
      byte[] sig = sign.sign();
      Signature verify = Signature.getInstance("SHA256withECDSA");
      verify.initVerify(s.leaf().getPublicKey());
      verify.update(new byte[] {1, 2, 3});
      assertThat(verify.verify(sig)).isTrue();
      Pair p = new Pair(Pem.certificates(s.chain()), Pem.privateKey(s.privateKey()));
      PAIRS.add(p);
      CERT_OF_KEY.put(sha(p.key()), sha(p.cert()));
    }
  }

  /** What one reader saw. */
  static final class Tally {
    long reads;
    long consistent;
    /** Both files parsed but belong to different SVIDs, during a read that spanned no swap. */
    long mismatched;
    /** Both files parsed but belong to different SVIDs, during a read that spanned a swap. */
    long mismatchedAcrossSwap;
    /** A file was empty, partial or missing. */
    long torn;
    long readsAcrossSwap;

    long mismatchesTotal() {
      return mismatched + mismatchedAcrossSwap;
    }

    @Override
    public String toString() {
      return String.format("reads=%d consistent=%d mismatched=%d (of which across a swap: %d) torn=%d"
          + " readsAcrossSwap=%d", reads, consistent, mismatchesTotal(), mismatchedAcrossSwap, torn, readsAcrossSwap);
    }
  }

  interface Writer {
    void write(Pair p, int version) throws IOException;
  }

  interface Reader {
    /** Reads certificate then key; returns them plus whether a swap happened in between (or null to skip). */
    Read read() throws IOException;
  }

  record Read(byte[] cert, byte[] key, boolean acrossSwap) {}

  private Tally[] run(Writer writer, Reader... readers) throws Exception {
    writer.write(PAIRS.get(0), 0);
    AtomicBoolean done = new AtomicBoolean();
    Tally[] tallies = new Tally[readers.length];
    List<Thread> threads = new ArrayList<>();
    List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int r = 0; r < readers.length; r++) {
      Tally t = new Tally();
      tallies[r] = t;
      Reader reader = readers[r];
      Thread th = new Thread(() -> {
        try {
          while (!done.get()) {
            Read read = reader.read();
            if (read != null) {
              classify(read, t);
            }
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      }, "reader-" + r);
      threads.add(th);
      th.start();
    }
    for (int i = 1; i <= ROTATIONS; i++) {
      writer.write(PAIRS.get(i), i);
    }
    done.set(true);
    for (Thread th : threads) {
      th.join(60_000);
    }
    assertThat(errors).isEmpty();
    return tallies;
  }

  private static void classify(Read r, Tally t) {
    t.reads++;
    if (r.acrossSwap()) {
      t.readsAcrossSwap++;
    }
    String certOfKey = CERT_OF_KEY.get(sha(r.key()));
    boolean certKnown = CERT_OF_KEY.containsValue(sha(r.cert()));
    if (certOfKey == null || !certKnown) {
      t.torn++;
    } else if (certOfKey.equals(sha(r.cert()))) {
      t.consistent++;
    } else if (r.acrossSwap()) {
      t.mismatchedAcrossSwap++;
    } else {
      t.mismatched++;
    }
  }

  @Test
  void symlinkSwap_readersBetweenSwapsNeverSeeAMismatch() throws Exception {
    SymlinkSwapPublisher publisher = new SymlinkSwapPublisher(dir, new AtomicFileWriter(), Clock.systemUTC());
    Writer writer = (p, v) -> publisher.publish(List.of(
        new OutputFile("svid.pem", p.cert(), FileSpec.of(0644)),
        new OutputFile("svid_key.pem", p.key(), FileSpec.of(0600)),
        new OutputFile("svid_bundle.pem", bundle, FileSpec.of(0644))), sha(p.cert()));
    Path data = dir.resolve("..data");
    java.util.concurrent.atomic.AtomicLong vanished = new java.util.concurrent.atomic.AtomicLong();

    // Reader 1: opens the configured names, as PostgreSQL does on reload; notes whether ..data
    // changed while it read (then it did not follow the rule "read after the signal").
    Reader byName = () -> {
      Path before = Files.readSymbolicLink(data);
      byte[] cert;
      byte[] key;
      try {
        cert = Files.readAllBytes(dir.resolve("svid.pem"));
        key = Files.readAllBytes(dir.resolve("svid_key.pem"));
      } catch (NoSuchFileException e) {
        // Only possible when two swaps happen during one open (the version it resolved was removed).
        vanished.incrementAndGet();
        return null;
      }
      Path after = Files.readSymbolicLink(data);
      return new Read(cert, key, !before.equals(after));
    };
    // Reader 2: resolves ..data once and opens both files in that (immutable) directory.
    Reader byVersion = () -> {
      Path version = dir.resolve(Files.readSymbolicLink(data));
      try {
        return new Read(Files.readAllBytes(version.resolve("svid.pem")),
            Files.readAllBytes(version.resolve("svid_key.pem")), false);
      } catch (NoSuchFileException e) {
        return null; // two swaps happened since it resolved ..data and the version is gone: resolve again
      }
    };

    Tally[] t = run(writer, byName, byVersion);
    System.out.println("[pair-consistency] symlink swap, " + ROTATIONS + " rotations, reader by name: " + t[0]
        + " vanishedDuringTwoSwaps=" + vanished.get());
    System.out.println("[pair-consistency] symlink swap, " + ROTATIONS + " rotations, reader by ..data: " + t[1]);

    assertThat(t[0].reads).isGreaterThan(ROTATIONS);
    assertThat(t[0].torn).as("empty or partial files").isZero();
    assertThat(t[0].mismatched).as("mismatches in reads between two swaps").isZero();
    assertThat(t[1].reads).isGreaterThan(ROTATIONS);
    assertThat(t[1].torn).isZero();
    assertThat(t[1].mismatchesTotal()).isZero();
    assertThat(Files.readAllBytes(dir.resolve("svid.pem"))).isEqualTo(PAIRS.get(ROTATIONS).cert());
  }

  @Test
  void naiveInPlaceWriter_forContrast() throws Exception {
    // spiffe-helper's pkg/disk: os.WriteFile (open with O_TRUNC, write) for the certificate, then
    // the key, then the bundle.
    Path cert = dir.resolve("svid.pem");
    Path key = dir.resolve("svid_key.pem");
    Writer writer = (p, v) -> {
      Files.write(cert, p.cert());
      Files.write(key, p.key());
      Files.write(dir.resolve("svid_bundle.pem"), bundle);
    };
    Reader byName = () -> new Read(Files.readAllBytes(cert), Files.readAllBytes(key), false);

    Tally[] t = run(writer, byName);
    System.out.println("[pair-consistency] naive in-place writer, " + ROTATIONS + " rotations, reader by name: " + t[0]);
    assertThat(t[0].reads).isGreaterThan(ROTATIONS);
  }

  private static String sha(byte[] b) {
    return Hashing.sha256().hashBytes(b).toString();
  }
}
