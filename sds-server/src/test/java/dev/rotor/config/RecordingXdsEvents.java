package dev.rotor.config;

import static org.assertj.core.api.Assertions.fail;

import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.XdsEventListener;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Records the replies the engine classified, with their type, so a test can tell an ACK from a
 * NACK from a stale request on each ADS sub-stream.
 */
final class RecordingXdsEvents implements XdsEventListener {

  enum Kind { ACK, NACK, STALE }

  record Reply(Kind kind, long stream, String typeUrl, String nonce) {}

  private final BlockingQueue<Reply> replies = new LinkedBlockingQueue<>();

  @Override
  public void ackReceived(StreamInfo s, String typeUrl, String version, String nonce) {
    replies.add(new Reply(Kind.ACK, s.id(), typeUrl, nonce));
  }

  @Override
  public void nackReceived(StreamInfo s, String typeUrl, String version, String nonce, String errorDetail) {
    replies.add(new Reply(Kind.NACK, s.id(), typeUrl, nonce));
  }

  @Override
  public void staleRequest(StreamInfo s, String typeUrl, String nonce) {
    replies.add(new Reply(Kind.STALE, s.id(), typeUrl, nonce));
  }

  /** The next reply the engine classified, whatever it was. */
  Reply awaitReply() {
    Duration timeout = XdsTestPeer.TIMEOUT;
    try {
      Reply r = replies.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return r != null ? r : fail("waited %s for the server to classify a request as ACK, NACK or stale", timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** Waits for {@code n} replies and returns the last; the earlier ones must be ACKs too. */
  Reply awaitAcks(int n) {
    Reply last = null;
    for (int i = 0; i < n; i++) {
      last = awaitReply();
      if (last.kind() != Kind.ACK) {
        fail("expected %d ACKs; reply %d was %s", n, i + 1, last);
      }
    }
    return last;
  }
}
