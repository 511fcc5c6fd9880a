package dev.rotor.testkit.demo;

import static java.util.Objects.requireNonNull;

import dev.rotor.testkit.clients.ResumingTlsClient;
import dev.rotor.testkit.clients.ResumingTlsClient.Call;
import dev.rotor.testkit.spire.Workload.SvidFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Callers the backend's listener must refuse, tried in rounds directly against it: the rogue
 * workload with its own valid SVID ({@code .../sa/rogue}: the handshake succeeds, RBAC must answer
 * 403), first on a new TLS session and then offering whatever session the listener gave it (the
 * listener gives none: it never resumes, so every rule holds on every connection), a TLS client
 * with no certificate (the handshake must fail), and plain HTTP (no answer). The rogue's SVID is
 * fetched anew, as the rogue, before each round: it is short-lived and must be valid, or a refusal
 * would prove nothing. Attempts are guarded by {@code this}.
 */
public final class RogueCaller implements AutoCloseable {
  public static final String MTLS_NEW = "mTLS with the rogue's SVID, new session";
  public static final String MTLS_RESUMING = "mTLS with the rogue's SVID, offering its saved session";
  public static final String NO_CERTIFICATE = "TLS without a client certificate";
  public static final String PLAINTEXT = "plain HTTP";

  private static final String PATH = "/api/demo";
  private static final int PLAIN_TIMEOUT_MILLIS = 5_000;

  /**
   * One try. {@code refused} only when the refusal was seen for what it is: 403 from RBAC, a TLS
   * alert in the handshake, a connection closed without an HTTP answer; an error of the caller's
   * own (cannot connect, no openssl) is not a refusal.
   */
  public record Attempt(Instant at, String kind, String answer, boolean offeredSession, boolean resumed,
      boolean refused) {}

  private final LocalDemoStack stack;
  private final Path dir;
  private final Consumer<List<Attempt>> listener;
  private Periodic thread;
  private final List<Attempt> attempts = new ArrayList<>();
  private int round;

  private RogueCaller(LocalDemoStack stack, Path dir, Consumer<List<Attempt>> listener) {
    this.stack = stack;
    this.dir = dir;
    this.listener = listener;
  }

  /** Starts a round every {@code period}; {@code listener} hears each round's attempts. */
  public static RogueCaller start(LocalDemoStack stack, Duration period, Consumer<List<Attempt>> listener) {
    Path dir;
    try {
      dir = Files.createDirectories(stack.dir().resolve("rogue"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the rogue's directory", e);
    }
    RogueCaller caller = new RogueCaller(stack, dir, requireNonNull(listener, "listener"));
    caller.thread = Periodic.start("rogue-caller", period, caller::roundQuietly);
    return caller;
  }

  private void roundQuietly() {
    List<Attempt> attempts = new ArrayList<>();
    try {
      round(attempts);
    } catch (RuntimeException e) {
      attempts.add(new Attempt(Instant.now(), "round " + round, "caller error: " + e, false, false, false));
    }
    synchronized (this) {
      this.attempts.addAll(attempts);
    }
    listener.accept(List.copyOf(attempts));
  }

  private void round(List<Attempt> out) {
    int port = stack.backendPort();
    SvidFiles svid = fetchRogueSvid();
    Path session = dir.resolve("session-" + round++ + ".pem");
    ResumingTlsClient rogue = new ResumingTlsClient(svid, session);
    Call fresh = rogue.httpGet(port, PATH);
    out.add(new Attempt(Instant.now(), MTLS_NEW, fresh.answer(), fresh.offeredSession(), fresh.resumed(),
        fresh.answer().equals("403")));
    Call again = rogue.httpGet(port, PATH);
    out.add(new Attempt(Instant.now(), MTLS_RESUMING, again.answer(), again.offeredSession(), again.resumed(),
        again.answer().equals("403")));
    Call noCert = ResumingTlsClient.withoutClientCertificate(svid.bundle(), dir.resolve("no-cert-session.pem"))
        .httpGet(port, PATH);
    out.add(new Attempt(Instant.now(), NO_CERTIFICATE, noCert.alert().map(a -> "TLS alert: " + a).orElse(noCert.answer()),
        noCert.offeredSession(), noCert.resumed(), noCert.answer().equals("none") && noCert.alert().isPresent()));
    String plain = plainHttp(port);
    out.add(new Attempt(Instant.now(), PLAINTEXT, plain, false, false, plain.equals("closed without an HTTP answer")));
  }

  private SvidFiles fetchRogueSvid() {
    try {
      Path svidDir = Files.createDirectories(dir.resolve("svid"));
      stack.spire().writeX509Svid(LocalDemoStack.ROGUE.launcher(), LocalDemoStack.ROGUE.spiffeId(), svidDir);
      return new SvidFiles(svidDir.resolve("svid.0.pem"), svidDir.resolve("svid.0.key"), svidDir.resolve("bundle.0.pem"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the rogue's SVID", e);
    }
  }

  /** A plain-text request to the mTLS listener: what came back, in words. */
  private static String plainHttp(int port) {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout(PLAIN_TIMEOUT_MILLIS);
      socket.getOutputStream().write(("GET " + PATH + " HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      InputStream in = socket.getInputStream();
      byte[] head = in.readNBytes(12);
      String text = new String(head, StandardCharsets.ISO_8859_1);
      return text.startsWith("HTTP/") ? "answered " + text.strip() : "closed without an HTTP answer";
    } catch (SocketTimeoutException e) {
      return "no answer within " + PLAIN_TIMEOUT_MILLIS + " ms";
    } catch (IOException e) {
      // A reset after the server read the first bytes is a refusal too, but a failed connect is not.
      return e.getMessage() != null && e.getMessage().contains("reset") ? "closed without an HTTP answer"
          : "caller error: " + e;
    }
  }

  public synchronized List<Attempt> attempts() {
    return List.copyOf(attempts);
  }

  /** Attempts that were not refused, or whose refusal could not be told apart from a caller error. */
  public synchronized List<Attempt> notRefused() {
    return attempts.stream().filter(a -> !a.refused()).toList();
  }

  public synchronized Optional<Attempt> last() {
    return attempts.isEmpty() ? Optional.empty() : Optional.of(attempts.get(attempts.size() - 1));
  }

  @Override
  public void close() {
    if (thread != null) {
      thread.close();
    }
  }
}
