package dev.rotor.pushlog;

import dev.rotor.protocol.Caller;
import dev.rotor.protocol.StreamInfo;
import dev.rotor.protocol.XdsEventListener;
import dev.rotor.xds.CertificateInfo;
import dev.rotor.xds.Resource;
import dev.rotor.xds.TypeUrls;
import java.util.List;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The push log: one JSON line per response sent and per ACK/NACK received, on the logger
 * {@code rotor.push}. It names resources, versions, nonces and certificate serials, never bodies:
 * a secret's body holds its private key.
 */
public final class PushLog implements XdsEventListener {

  private static final Logger log = LoggerFactory.getLogger("rotor.push");

  @Override
  public void streamOpened(StreamInfo s) {
    base(log.atInfo(), s, null).log("stream opened");
  }

  @Override
  public void streamClosed(StreamInfo s) {
    base(log.atInfo(), s, null).log("stream closed");
  }

  @Override
  public void responseSent(StreamInfo s, String typeUrl, String version, String nonce, List<Resource> resources,
      List<String> removed, OptionalLong latencyNanos) {
    LoggingEventBuilder e = base(log.atInfo(), s, typeUrl)
        .addKeyValue("event", "response")
        .addKeyValue("resources", resources.stream().map(Resource::name).toList())
        .addKeyValue("versions", resources.stream().map(Resource::version).toList())
        .addKeyValue("version", version)
        .addKeyValue("nonce", nonce);
    if (!removed.isEmpty()) {
      e = e.addKeyValue("removed", removed);
    }
    List<CertificateInfo> certs = resources.stream().flatMap(r -> r.certificate().stream()).toList();
    if (!certs.isEmpty()) {
      e = e.addKeyValue("serials", certs.stream().map(CertificateInfo::serialHex).toList())
          .addKeyValue("not_after", certs.stream().map(c -> c.notAfter().toString()).toList());
    }
    if (latencyNanos.isPresent()) {
      e = e.addKeyValue("latency_ms", latencyNanos.getAsLong() / 1_000_000.0);
    }
    e.log("response sent");
  }

  @Override
  public void ackReceived(StreamInfo s, String typeUrl, String version, String nonce) {
    base(log.atInfo(), s, typeUrl)
        .addKeyValue("event", "ack")
        .addKeyValue("version", clip(version))
        .addKeyValue("nonce", clip(nonce))
        .log("ACK");
  }

  @Override
  public void nackReceived(StreamInfo s, String typeUrl, String version, String nonce, String errorDetail) {
    base(log.atWarn(), s, typeUrl)
        .addKeyValue("event", "nack")
        .addKeyValue("version", clip(version))
        .addKeyValue("nonce", clip(nonce))
        .addKeyValue("error", errorDetail.length() > 2000 ? errorDetail.substring(0, 2000) + "..." : errorDetail)
        .log("NACK: the client rejected a response");
  }

  @Override
  public void unknownResource(StreamInfo s, String typeUrl, String name, String whyAbsent) {
    base(log.atInfo(), s, typeUrl)
        .addKeyValue("event", "unknown_resource")
        .addKeyValue("resource", clip(name))
        .log("subscribed resource is not served: " + whyAbsent);
  }

  @Override
  public void staleRequest(StreamInfo s, String typeUrl, String nonce) {
    base(log.atDebug(), s, typeUrl).addKeyValue("event", "stale_nonce").addKeyValue("nonce", clip(nonce))
        .log("request with a stale nonce ignored");
  }

  /** Node-id refusals; streams ended for lapsed credentials are logged, with the reason, where they end. */
  @Override
  public void callerRefused(Caller caller, String reason, String nodeId) {
    if (Caller.REFUSED_NODE_ID.equals(reason)) {
      log.atWarn().addKeyValue("event", "refused").addKeyValue("reason", reason).addKeyValue("node", clip(nodeId))
          .addKeyValue("peer", caller.describe())
          .log("refused: node.id names a workload the caller's SPIFFE ID does not belong to");
    }
  }

  /**
   * Node IDs, versions and nonces in requests are the client's free text, of any length up to
   * gRPC's message limit; logged in full, one request of megabytes would be repeated in every
   * line of its stream.
   */
  private static String clip(String clientText) {
    return clientText.length() <= 200 ? clientText : clientText.substring(0, 200) + "...";
  }

  private static LoggingEventBuilder base(LoggingEventBuilder e, StreamInfo s, String typeUrl) {
    e = e.addKeyValue("stream", s.id()).addKeyValue("kind", s.kind().name().toLowerCase(java.util.Locale.ROOT))
        .addKeyValue("node", clip(s.nodeId())).addKeyValue("peer", s.peer());
    if (typeUrl != null) {
      e = e.addKeyValue("type", TypeUrls.shortName(typeUrl));
    }
    return e;
  }
}
