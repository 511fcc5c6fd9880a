package dev.rotor.envoyconfigs;

import java.nio.file.Path;

/** The demo's sidecars and their bootstrap files in this module's directory. */
enum Sidecar {
  FRONTEND("frontend", "frontend-envoy.yaml"),
  BACKEND("backend", "backend-envoy.yaml");

  /** {@code node.id} and {@code node.cluster}: the policy's {@code match.nodeIds} entry. */
  final String nodeId;
  final String fileName;

  Sidecar(String nodeId, String fileName) {
    this.nodeId = nodeId;
    this.fileName = fileName;
  }

  /** The bootstrap file; surefire runs in the module directory and also sets {@code basedir}. */
  Path bootstrap() {
    return Path.of(System.getProperty("basedir", ".")).resolve(fileName).toAbsolutePath().normalize();
  }
}
