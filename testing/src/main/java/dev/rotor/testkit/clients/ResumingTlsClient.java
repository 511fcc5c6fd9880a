package dev.rotor.testkit.clients;

import dev.rotor.testkit.spire.Workload.SvidFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A mutual-TLS client that resumes its TLS session whenever the server lets it: {@code openssl
 * s_client} presenting a workload's SVID, verifying the server's chain against the workload's
 * bundle, saving its session ({@code -sess_out}) and offering it on the next connection ({@code
 * -sess_in}), one new connection per call. A resumed TLS 1.3 session sends no client certificate,
 * which is what a server must not take as authenticated.
 *
 * <p>The client ends each connection itself once it has its answer (it closes s_client's input,
 * and s_client closes the connection on end of input), rather than waiting for the server to
 * close: Envoy waits up to its {@code delayed_close_timeout} (1 s) for the client to close first.
 */
public final class ResumingTlsClient {
  private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(10);
  /**
   * Not anchored at a line start: s_client prints what the server sends right after whatever it
   * printed last, e.g. the hex dump of a session ticket that arrived first.
   */
  private static final Pattern HTTP_STATUS = Pattern.compile("HTTP/1\\.1 (\\d{3}) ");
  private static final Pattern SESSION = Pattern.compile("(?m)^(New|Reused), TLSv");
  /** openssl's error line for an alert the peer sent, e.g. "tlsv13 alert certificate required". */
  private static final Pattern ALERT = Pattern.compile("(?:sslv3|tlsv1[0-3]?) alert ([a-z ]+)");

  /**
   * What one connection did: the answer (status or echoed line), whether the session was
   * resumed, and the TLS alert openssl reported, if any (e.g. {@code certificate required}).
   */
  public record Call(String answer, boolean offeredSession, boolean resumed, Optional<String> alert) {}

  private final SvidFiles svid;
  private final Path session;

  public ResumingTlsClient(SvidFiles svid, Path session) {
    this.svid = java.util.Objects.requireNonNull(svid, "svid");
    this.session = session;
  }

  /**
   * A client that presents no certificate at all (it still verifies the server against {@code
   * bundle}): what a server that requires client certificates must refuse in the handshake.
   */
  public static ResumingTlsClient withoutClientCertificate(Path bundle, Path session) {
    return new ResumingTlsClient(new SvidFiles(null, null, bundle), session);
  }

  /** {@code GET path} with {@code Connection: close}; the answer is the status code, or "none". */
  public Call httpGet(int port, String path) {
    return connect(port, "GET " + path + " HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n", output -> {
      Matcher status = HTTP_STATUS.matcher(output);
      return status.find() ? Optional.of(status.group(1)) : Optional.empty();
    });
  }

  /** Sends {@code line}; the answer is the line the server echoed, or "none". */
  public Call echo(int port, String line) {
    return connect(port, line + "\n",
        output -> output.contains(line + "\n") ? Optional.of(line) : Optional.empty());
  }

  /**
   * The certificate the server presents on a new connection (s_client prints the leaf as PEM),
   * e.g. to see which SVID a listener uses after a rotation.
   */
  public java.security.cert.X509Certificate serverCertificate(int port) {
    String begin = "-----BEGIN CERTIFICATE-----";
    String end = "-----END CERTIFICATE-----";
    Call call = connect(port, "", output -> {
      int from = output.indexOf(begin);
      int to = output.indexOf(end, Math.max(from, 0));
      return from >= 0 && to > from ? Optional.of(output.substring(from, to + end.length())) : Optional.empty();
    });
    try {
      return (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(new java.io.ByteArrayInputStream(call.answer().getBytes(StandardCharsets.US_ASCII)));
    } catch (java.security.cert.CertificateException e) {
      throw new IllegalStateException("the server on port " + port + " presented no certificate s_client printed", e);
    }
  }

  /**
   * One connection: sends {@code input}, waits until {@code answer} finds its answer in the output
   * or the server closes the connection, then closes the client side.
   */
  private Call connect(int port, String input, Function<String, Optional<String>> answer) {
    boolean offered = hasSession();
    List<String> command = new ArrayList<>(List.of("openssl", "s_client",
        "-connect", "127.0.0.1:" + port,
        "-CAfile", svid.bundle().toString(), "-verify_return_error",
        "-sess_out", session.toString()));
    if (svid.chain() != null) {
      command.addAll(List.of("-cert", svid.chain().toString(), "-key", svid.key().toString()));
    }
    if (offered) {
      command.addAll(List.of("-sess_in", session.toString()));
    }
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
    }
    StringBuffer output = new StringBuffer();
    Thread reader = new Thread(() -> copy(process.getInputStream(), output), "s_client-output");
    reader.setDaemon(true);
    reader.start();
    try (OutputStream stdin = process.getOutputStream()) {
      stdin.write(input.getBytes(StandardCharsets.US_ASCII));
      stdin.flush();
      long deadline = System.nanoTime() + ANSWER_TIMEOUT.toNanos();
      synchronized (output) {
        // The reader notifies on every chunk and at the end of the output.
        while (answer.apply(output.toString()).isEmpty() && reader.isAlive() && System.nanoTime() < deadline) {
          output.wait(100);
        }
      }
    } catch (IOException e) {
      // s_client already exited (the server closed the connection): its output says what happened.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } finally {
      end(process, reader);
    }
    Matcher resumed = SESSION.matcher(output);
    if (!resumed.find()) {
      throw new IllegalStateException("openssl s_client printed no session line (New/Reused):\n" + output);
    }
    Matcher alert = ALERT.matcher(output);
    return new Call(answer.apply(output.toString()).orElse("none"), offered, resumed.group(1).equals("Reused"),
        alert.find() ? Optional.of(alert.group(1).strip()) : Optional.empty());
  }

  private static void end(Process process, Thread reader) {
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
      reader.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  private static void copy(InputStream in, StringBuffer out) {
    byte[] buffer = new byte[4096];
    try (in) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        synchronized (out) {
          out.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
          out.notifyAll();
        }
      }
    } catch (IOException e) {
      // The process ended.
    } finally {
      synchronized (out) {
        out.notifyAll();
      }
    }
  }

  private boolean hasSession() {
    try {
      return Files.exists(session) && Files.size(session) > 0;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + session, e);
    }
  }
}
