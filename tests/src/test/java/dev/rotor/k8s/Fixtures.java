package dev.rotor.k8s;

import java.util.concurrent.ConcurrentHashMap;
import java.util.Map;

/** The rendered overlays, built once per test run and decoded afresh for every caller (callers mutate). */
final class Fixtures {
  private static final Map<String, String> RENDERED = new ConcurrentHashMap<>();

  private Fixtures() {}

  static RenderedDemo demo() {
    return overlay("deploy/kustomize/overlays/demo");
  }

  static RenderedDemo rogue() {
    return overlay("deploy/kustomize/overlays/rogue");
  }

  static RenderedDemo node() {
    return overlay("deploy/kustomize/overlays/node");
  }

  private static RenderedDemo overlay(String dir) {
    String yaml = RENDERED.computeIfAbsent(dir, d -> Kubectl.kustomize(Kubectl.repoRoot().resolve(d)));
    return new RenderedDemo(StrictKubernetesDecoder.decodeAll(yaml));
  }
}
