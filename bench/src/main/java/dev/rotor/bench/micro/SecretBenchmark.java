package dev.rotor.bench.micro;

import com.google.protobuf.Any;
import dev.rotor.identity.IdentitySnapshot;
import dev.rotor.identity.Svid;
import dev.rotor.source.dev.DevCa;
import dev.rotor.xds.secret.SecretBuilder;
import dev.rotor.xds.secret.SecretCatalog;
import dev.rotor.xds.secret.SecretNaming;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Building and encoding secrets from one identity (an EC P-256 SVID from the dev CA and its
 * bundle): one {@code default} TLS-certificate secret, and the whole catalog a rotation builds
 * (every name, every validation form, each packed once and versioned).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SecretBenchmark {
  private Svid svid;
  private IdentitySnapshot snapshot;

  @Setup
  public void setUp() {
    TrustDomain td = TrustDomain.parse("example.org");
    DevCa ca = new DevCa(td, Duration.ofHours(24), Duration.ZERO, Clock.systemUTC());
    svid = ca.issue(SpiffeId.parse("spiffe://example.org/ns/demo/sa/backend"), Duration.ofHours(1));
    snapshot = IdentitySnapshot.of(List.of(svid), Map.of(td, ca.bundle()));
  }

  /** One TLS-certificate secret, built and serialized to the bytes that go on the wire. */
  @Benchmark
  public byte[] tlsCertificateSecretEncoded() {
    return Any.pack(SecretBuilder.tlsCertificate("default", svid)).toByteArray();
  }

  /** What Rotor does once per identity change: every secret by every name, encoded and versioned once. */
  @Benchmark
  public SecretCatalog secretCatalogBuild() {
    return SecretCatalog.build(snapshot, SecretNaming.SPIRE_DEFAULTS);
  }
}
