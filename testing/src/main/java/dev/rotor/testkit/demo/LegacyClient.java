package dev.rotor.testkit.demo;

import static java.util.Objects.requireNonNull;

import dev.rotor.testkit.clients.ResumingTlsClient;
import dev.rotor.testkit.clients.ResumingTlsClient.Call;
import dev.rotor.testkit.postgres.ClientFiles;
import dev.rotor.testkit.postgres.PemFiles;
import dev.rotor.testkit.postgres.PgJdbc;
import dev.rotor.testkit.spire.Workload.SvidFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A program that loads its certificate once, at start, and keeps using it: the problem Rotor
 * exists for, side by side with the rotation-aware paths on the same stack. Two of them:
 *
 * <ul>
 *   <li>{@value #MTLS}: the frontend's SVID fetched once from the agent, used for an mTLS call to
 *       the backend's listener every period (openssl, a new connection each time); the backend's
 *       Envoy refuses it once it has expired, while the frontend's Envoy, fed by Rotor, never
 *       notices a rotation;
 *   <li>{@value #DATABASE}: a copy of the backend's database client files taken once (one version
 *       directory of Rotor's, so certificate and key belong together), a new pgjdbc connection with
 *       it every period; PostgreSQL refuses it once it has expired, while the backend's pool, on
 *       the files Rotor keeps current, never does.
 * </ul>
 *
 * Attempts are guarded by {@code this}.
 */
public final class LegacyClient implements AutoCloseable {
  public static final String MTLS = "legacy-mtls";
  public static final String DATABASE = "legacy-db";

  /** One attempt; {@code error} is empty when it succeeded. */
  public record Attempt(String client, Instant started, Instant ended, boolean ok, String error) {}

  @FunctionalInterface
  private interface Action {
    /** Null when the attempt succeeded, else what went wrong. */
    String attempt() throws Exception;
  }

  private final String name;
  private final Instant notAfter;
  private final Action action;
  private Periodic thread;
  private final List<Attempt> attempts = new ArrayList<>();

  private LegacyClient(String name, Instant notAfter, Action action) {
    this.name = name;
    this.notAfter = notAfter;
    this.action = action;
  }

  /** Fetches the frontend's SVID once, then calls the backend's listener with it every {@code period}. */
  public static LegacyClient mtls(LocalDemoStack stack, Duration period) {
    Path dir = directory(stack, MTLS);
    stack.spire().writeX509Svid(LocalDemoStack.FRONTEND.launcher(), LocalDemoStack.FRONTEND.spiffeId(), dir);
    SvidFiles loadedOnce = new SvidFiles(dir.resolve("svid.0.pem"), dir.resolve("svid.0.key"), dir.resolve("bundle.0.pem"));
    Instant notAfter = PemFiles.leaf(loadedOnce.chain()).getNotAfter().toInstant();
    int port = stack.backendPort();
    return new LegacyClient(MTLS, notAfter, () -> {
      Call call = new ResumingTlsClient(loadedOnce, Files.createTempFile(dir, "session-", ".pem")).httpGet(port, "/api/demo");
      return call.answer().equals("200") ? null
          : "answer " + call.answer() + call.alert().map(a -> ", TLS alert: " + a).orElse("");
    }).start(period);
  }

  /** Copies the backend's database client files once, then connects to PostgreSQL with the copy every {@code period}. */
  public static LegacyClient database(LocalDemoStack stack, Duration period) {
    Path version;
    try {
      // One version directory of Rotor's: the certificate and key in it were written together.
      version = stack.backendDbFiles().resolve("..data").toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve the backend's ..data (Rotor's current version directory)", e);
    }
    ClientFiles current = new ClientFiles(version.resolve(stack.backendDbCertFile().getFileName()),
        version.resolve(stack.backendDbKeyFile().getFileName()), version.resolve(stack.backendDbCaFile().getFileName()));
    ClientFiles loadedOnce = current.snapshotInto(directory(stack, DATABASE));
    Instant notAfter = PemFiles.leaf(loadedOnce.cert()).getNotAfter().toInstant();
    return new LegacyClient(DATABASE, notAfter, () -> {
      try (Connection c = PgJdbc.connect(stack.postgres(), PgJdbc.verifyFull(stack.postgres(), loadedOnce, DATABASE));
          Statement s = c.createStatement();
          ResultSet r = s.executeQuery("SELECT 1")) {
        return r.next() ? null : "SELECT 1 returned no row";
      }
    }).start(period);
  }

  private LegacyClient start(Duration period) {
    thread = Periodic.start(name, period, this::attemptOnce);
    return this;
  }

  private void attemptOnce() {
    Instant started = Instant.now();
    String error;
    try {
      error = action.attempt();
    } catch (Exception e) {
      error = rootMessage(e);
    }
    Attempt attempt = new Attempt(name, started, Instant.now(), error == null, error == null ? "" : error);
    synchronized (this) {
      attempts.add(attempt);
    }
  }

  public String name() {
    return name;
  }

  /** When the certificate it loaded expires. */
  public Instant notAfter() {
    return notAfter;
  }

  public synchronized List<Attempt> attempts() {
    return List.copyOf(attempts);
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.close();
    }
  }

  private static Path directory(LocalDemoStack stack, String name) {
    try {
      return Files.createDirectories(stack.dir().resolve(name));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for " + name, e);
    }
  }

  /** The innermost cause: the TLS alert or PostgreSQL's FATAL, not the driver's wrapper. */
  static String rootMessage(Throwable e) {
    requireNonNull(e, "e");
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getClass().getSimpleName() + ": " + root.getMessage();
    return root == e ? message : e.getMessage() + " <- " + message;
  }
}
