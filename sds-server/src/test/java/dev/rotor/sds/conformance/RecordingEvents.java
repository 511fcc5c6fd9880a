package dev.rotor.sds.conformance;

import static org.assertj.core.api.Assertions.fail;

import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.xds.Resource;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Records what the protocol engine reports, so tests can tell an ACK from a NACK from a stale request. */
final class RecordingEvents implements XdsEventListener {

  record Sent(long stream, String nonce, List<Resource> resources, List<String> removed) {}

  record Reply(long stream, String node, String version, String nonce, String errorDetail) {}

  final List<Sent> sent = new CopyOnWriteArrayList<>();
  final BlockingQueue<Reply> acks = new LinkedBlockingQueue<>();
  final BlockingQueue<Reply> nacks = new LinkedBlockingQueue<>();
  final BlockingQueue<String> staleNonces = new LinkedBlockingQueue<>();

  @Override
  public void responseSent(StreamInfo s, String typeUrl, String version, String nonce, List<Resource> resources,
      List<String> removed, OptionalLong latencyNanos) {
    sent.add(new Sent(s.id(), nonce, resources, removed));
  }

  @Override
  public void ackReceived(StreamInfo s, String typeUrl, String version, String nonce) {
    acks.add(new Reply(s.id(), s.nodeId(), version, nonce, null));
  }

  @Override
  public void nackReceived(StreamInfo s, String typeUrl, String version, String nonce, String errorDetail) {
    nacks.add(new Reply(s.id(), s.nodeId(), version, nonce, errorDetail));
  }

  @Override
  public void staleRequest(StreamInfo s, String typeUrl, String nonce) {
    staleNonces.add(nonce);
  }

  Reply awaitAck() {
    return await(acks, "an ACK");
  }

  Reply awaitNack() {
    return await(nacks, "a NACK");
  }

  String awaitStaleNonce() {
    return await(staleNonces, "a request with a stale nonce");
  }

  /** The one sent-event whose nonce is {@code nonce}. */
  Sent sentWithNonce(String nonce) {
    return sent.stream().filter(s -> s.nonce().equals(nonce)).findFirst()
        .orElseThrow(() -> new AssertionError("no response with nonce " + nonce + " was reported"));
  }

  private static <T> T await(BlockingQueue<T> q, String what) {
    Duration timeout = SdsTestPeer.TIMEOUT;
    try {
      T t = q.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return t != null ? t : fail("waited %s for the server to report %s", timeout, what);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
