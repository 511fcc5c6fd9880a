package dev.rotor.policy;

import java.util.HashMap;
import java.util.Map;
import org.snakeyaml.engine.v2.nodes.Node;

/**
 * The ports one workload binds: the inbound listener, the application behind it and every
 * outbound listener. They share the pod's network namespace, so each must be different; the
 * second claim of a port is reported with the path of the first.
 */
final class PortClaims {

  private final NodeReader r;
  private final Map<Integer, String> claimedBy = new HashMap<>();

  PortClaims(NodeReader r) {
    this.r = r;
  }

  void claim(int port, Node node, String path) {
    String first = claimedBy.putIfAbsent(port, path);
    if (first != null) {
      r.error(node, path, port + " is already used by " + first + " (expected the inbound port,"
          + " the app port and every outbound port of a workload to differ)");
    }
  }
}
