package dev.rotor.protocol;

import dev.rotor.xds.Resource;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * What the protocol engine reports: the push log, metrics and status listen. Called on the
 * stream's own executor; implementations must be quick and thread-safe and must never print
 * resource bodies (secrets hold private keys).
 */
public interface XdsEventListener {

  default void streamOpened(StreamInfo stream) {}

  default void streamClosed(StreamInfo stream) {}

  /**
   * A response went out.
   *
   * @param latencyNanos time from the state change that caused it to the send, when a state change
   *     caused it (absent when a request did)
   */
  default void responseSent(StreamInfo stream, String typeUrl, String version, String nonce,
      List<Resource> resources, List<String> removed, OptionalLong latencyNanos) {}

  default void ackReceived(StreamInfo stream, String typeUrl, String version, String nonce) {}

  default void nackReceived(StreamInfo stream, String typeUrl, String version, String nonce, String errorDetail) {}

  /** A subscribed name does not exist (yet); reported once per stream and name. */
  default void unknownResource(StreamInfo stream, String typeUrl, String name) {}

  /**
   * As {@link #unknownResource(StreamInfo, String, String)}, with why it is absent ({@link
   * TypeView#whyAbsent}). The streams call this one; by default it forwards to the other.
   */
  default void unknownResource(StreamInfo stream, String typeUrl, String name, String whyAbsent) {
    unknownResource(stream, typeUrl, name);
  }

  /** A request was ignored because its nonce was stale (xds-protocol rule 3). */
  default void staleRequest(StreamInfo stream, String typeUrl, String nonce) {}

  /**
   * The stream's subscription to {@code typeUrl} changed: it now asks for {@code names} (explicit
   * names, without {@code "*"}) and, if {@code wildcard}, for everything it may see.
   */
  default void subscriptionChanged(StreamInfo stream, String typeUrl, Set<String> names, boolean wildcard) {}

  /**
   * A caller was refused after the transport admitted it: its {@code node.id} names a workload its
   * verified identity does not belong to ({@link Caller#REFUSED_NODE_ID}), or its credentials
   * lapsed while its stream was open ({@link Caller#REFUSED_CREDENTIALS_LAPSED}). {@code nodeId}
   * is the client's own claim: clip it before logging.
   */
  default void callerRefused(Caller caller, String reason, String nodeId) {}

  /** Combines listeners; each is called in order. */
  static XdsEventListener all(List<XdsEventListener> listeners) {
    List<XdsEventListener> copy = List.copyOf(listeners);
    return new XdsEventListener() {
      @Override
      public void streamOpened(StreamInfo s) {
        copy.forEach(l -> l.streamOpened(s));
      }

      @Override
      public void streamClosed(StreamInfo s) {
        copy.forEach(l -> l.streamClosed(s));
      }

      @Override
      public void responseSent(StreamInfo s, String t, String v, String n, List<Resource> r, List<String> rm,
          OptionalLong lat) {
        copy.forEach(l -> l.responseSent(s, t, v, n, r, rm, lat));
      }

      @Override
      public void ackReceived(StreamInfo s, String t, String v, String n) {
        copy.forEach(l -> l.ackReceived(s, t, v, n));
      }

      @Override
      public void nackReceived(StreamInfo s, String t, String v, String n, String e) {
        copy.forEach(l -> l.nackReceived(s, t, v, n, e));
      }

      @Override
      public void unknownResource(StreamInfo s, String t, String name) {
        copy.forEach(l -> l.unknownResource(s, t, name));
      }

      @Override
      public void unknownResource(StreamInfo s, String t, String name, String whyAbsent) {
        copy.forEach(l -> l.unknownResource(s, t, name, whyAbsent));
      }

      @Override
      public void staleRequest(StreamInfo s, String t, String n) {
        copy.forEach(l -> l.staleRequest(s, t, n));
      }

      @Override
      public void subscriptionChanged(StreamInfo s, String t, Set<String> names, boolean wildcard) {
        copy.forEach(l -> l.subscriptionChanged(s, t, names, wildcard));
      }

      @Override
      public void callerRefused(Caller caller, String reason, String nodeId) {
        copy.forEach(l -> l.callerRefused(caller, reason, nodeId));
      }
    };
  }
}
