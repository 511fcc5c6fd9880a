package dev.rotor.files;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * The file writer as of now, for health endpoints and metrics.
 *
 * @param ready every output was written (or found in place) at least once, and the last attempt
 *     did not fail
 * @param lastError the last failure, kept until a write succeeds
 * @param writes versions published (content or attributes changed)
 * @param unchanged snapshots that needed no write (content and attributes already in place)
 * @param failures attempts that wrote nothing (render or I/O failure)
 * @param signalsSent renew signals delivered (to cmd or the pid file's process)
 * @param signalFailures renew signals that could not be delivered
 * @param reloadCmdRuns reload_cmd runs that exited 0
 * @param reloadCmdFailures reload_cmd runs that failed or timed out
 * @param lastWriteAt when the last version was published
 * @param publishedDigest the content digest of the files in place
 */
public record FileWriterStatus(
    boolean ready,
    Optional<String> lastError,
    long writes,
    long unchanged,
    long failures,
    long signalsSent,
    long signalFailures,
    long reloadCmdRuns,
    long reloadCmdFailures,
    Optional<Instant> lastWriteAt,
    Optional<String> publishedDigest) {

  public FileWriterStatus {
    requireNonNull(lastError, "lastError");
    requireNonNull(lastWriteAt, "lastWriteAt");
    requireNonNull(publishedDigest, "publishedDigest");
  }

  /** True unless the last attempt failed: spiffe-helper's liveness. */
  public boolean live() {
    return lastError.isEmpty();
  }
}
