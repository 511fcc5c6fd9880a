package dev.rotor.testkit.demo;

import static java.util.Objects.requireNonNull;

import dev.rotor.testkit.envoy.EnvoyAdmin;
import dev.rotor.testkit.envoy.EnvoyAdmin.ActiveSecret;
import dev.rotor.testkit.postgres.PemFiles;
import dev.rotor.testkit.postgres.ServedCertificate;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * Watches, four times a second, which certificate each place of the stack holds, and records every
 * change: the frontend's and the backend's Envoy ({@code default} in {@code /config_dump}, and
 * every serial {@code /certs} shows), the database client files the backend's Rotor writes, the
 * files PostgreSQL's writer writes, and (once a second, over a handshake of its own) the
 * certificate PostgreSQL actually serves. A certificate signed by a CA key not seen before is a CA
 * rotation. All state is guarded by {@code this}; the polling thread is the only writer.
 */
public final class RotationWatch implements AutoCloseable {
  private static final Duration PERIOD = Duration.ofMillis(250);
  private static final int HANDSHAKE_EVERY = 4;
  private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);

  /** Where a certificate was seen, and whose it is. */
  public enum Source {
    FRONTEND_ENVOY("frontend", "frontend Envoy"),
    BACKEND_ENVOY("backend", "backend Envoy"),
    BACKEND_DB_FILES("backend", "database client files"),
    DATABASE_FILES("database", "PostgreSQL's certificate files"),
    DATABASE_SERVED("database", "PostgreSQL's handshake");

    private final String identity;
    private final String where;

    Source(String identity, String where) {
      this.identity = identity;
      this.where = where;
    }

    /** frontend, backend or database. */
    public String identity() {
      return identity;
    }

    public String where() {
      return where;
    }
  }

  /** The sources whose changes count as the identity's rotations. */
  public static final List<Source> PRIMARY = List.of(Source.FRONTEND_ENVOY, Source.BACKEND_ENVOY, Source.DATABASE_FILES);

  /** A certificate first seen at a source. */
  public record Sighting(Source source, BigInteger serial, Instant firstSeen, Instant notAfter, Optional<String> caKeyId) {
    public String serialHex() {
      return serial.toString(16);
    }
  }

  /** The signing CA changed: {@code toKeyId} was first seen at {@code at} on {@code source}. */
  public record CaRotation(Instant at, String fromKeyId, String toKeyId, Source source) {}

  /** Hears every change as it is seen (on the watch's thread). */
  public interface Listener {
    default void rotated(Sighting previous, Sighting next) {}

    default void caRotated(CaRotation rotation) {}
  }

  private final LocalDemoStack stack;
  private final Listener listener;
  private Periodic thread;
  private final Map<Source, List<Sighting>> sightings = new EnumMap<>(Source.class);
  private final Map<Source, Set<String>> inCerts = new EnumMap<>(Source.class);
  private final List<String> caKeys = new ArrayList<>();
  private final List<CaRotation> caRotations = new ArrayList<>();
  private final Map<Source, String> lastErrors = new EnumMap<>(Source.class);
  private long ticks;

  private RotationWatch(LocalDemoStack stack, Listener listener) {
    this.stack = stack;
    this.listener = listener;
    for (Source s : Source.values()) {
      sightings.put(s, new ArrayList<>());
      inCerts.put(s, new LinkedHashSet<>());
    }
  }

  public static RotationWatch start(LocalDemoStack stack, Listener listener) {
    RotationWatch watch = new RotationWatch(requireNonNull(stack, "stack"), requireNonNull(listener, "listener"));
    watch.thread = Periodic.start("rotation-watch", PERIOD, watch::tick);
    return watch;
  }

  private void tick() {
    Instant now = Instant.now();
    poll(Source.FRONTEND_ENVOY, now, () -> envoy(stack.frontendEnvoy().admin(), Source.FRONTEND_ENVOY));
    poll(Source.BACKEND_ENVOY, now, () -> envoy(stack.backendEnvoy().admin(), Source.BACKEND_ENVOY));
    poll(Source.BACKEND_DB_FILES, now, () -> file(stack.backendDbCertFile()));
    poll(Source.DATABASE_FILES, now, () -> file(stack.postgres().serverCertFile()));
    if (ticks++ % HANDSHAKE_EVERY == 0) {
      poll(Source.DATABASE_SERVED, now, () -> Optional.of(ServedCertificate.fetch(LocalDemoStack.DATABASE_HOST,
          stack.postgres().port(), stack.postgres().serverCaFile(), HANDSHAKE_TIMEOUT)));
    }
  }

  /** The Envoy's {@code default} certificate, after noting every serial {@code /certs} shows. */
  private Optional<X509Certificate> envoy(EnvoyAdmin admin, Source source) throws Exception {
    for (EnvoyAdmin.Cert cert : admin.certs()) {
      synchronized (this) {
        inCerts.get(source).add(cert.serialHex());
      }
    }
    return admin.activeSecret("default").flatMap(ActiveSecret::certificate);
  }

  private static Optional<X509Certificate> file(Path pem) {
    return Files.exists(pem) ? Optional.of(PemFiles.leaf(pem)) : Optional.empty();
  }

  private void poll(Source source, Instant now, Callable<Optional<X509Certificate>> read) {
    Optional<X509Certificate> cert;
    try {
      cert = read.call();
    } catch (Exception e) {
      synchronized (this) {
        lastErrors.put(source, now + " " + e);
      }
      return;
    }
    cert.ifPresent(c -> seen(source, now, c));
  }

  private void seen(Source source, Instant now, X509Certificate cert) {
    Sighting previous;
    Sighting next;
    CaRotation caRotation = null;
    synchronized (this) {
      List<Sighting> list = sightings.get(source);
      previous = list.isEmpty() ? null : list.get(list.size() - 1);
      if (previous != null && previous.serial().equals(cert.getSerialNumber())) {
        return;
      }
      next = new Sighting(source, cert.getSerialNumber(), now, cert.getNotAfter().toInstant(),
          Certificates.authorityKeyId(cert));
      list.add(next);
      if (next.caKeyId().isPresent() && !caKeys.contains(next.caKeyId().get())) {
        if (!caKeys.isEmpty()) {
          caRotation = new CaRotation(now, caKeys.get(caKeys.size() - 1), next.caKeyId().get(), source);
          caRotations.add(caRotation);
        }
        caKeys.add(next.caKeyId().get());
      }
    }
    if (previous != null) {
      listener.rotated(previous, next);
    }
    if (caRotation != null) {
      listener.caRotated(caRotation);
    }
  }

  /** Every certificate seen at {@code source}, in order. */
  public synchronized List<Sighting> sightings(Source source) {
    return List.copyOf(sightings.get(source));
  }

  /** Changes seen at {@code source}: one fewer than its sightings. */
  public synchronized int rotations(Source source) {
    return Math.max(0, sightings.get(source).size() - 1);
  }

  /** Serials an Envoy source's {@code /certs} showed, lower-case hex. */
  public synchronized Set<String> serialsInCerts(Source source) {
    return Set.copyOf(inCerts.get(source));
  }

  public synchronized List<CaRotation> caRotations() {
    return List.copyOf(caRotations);
  }

  /** The CA keys seen signing, in order. */
  public synchronized List<String> caKeys() {
    return List.copyOf(caKeys);
  }

  /** The last failed read per source (a watch that cannot read is worth a line in a failure). */
  public synchronized Map<Source, String> lastErrors() {
    return Map.copyOf(lastErrors);
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.close();
    }
  }
}
