package dev.rotor.runtime;

import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Parses Prometheus text exposition with a real, independent parser: the official Python client's
 * {@code prometheus_client.parser.text_string_to_metric_families}, run as {@code python3} with the
 * text on stdin. It prints one JSON object: metric family name → {type, samples: [[name, labels,
 * value]]}. A parse error fails the test with the parser's message.
 */
final class PrometheusText {

  private static final String SCRIPT = String.join("\n",
      "import json, sys",
      "try:",
      "    from prometheus_client.parser import text_string_to_metric_families",
      "except ImportError as e:",
      "    print('MISSING-MODULE: ' + str(e)); sys.exit(3)",
      "out = {}",
      "for f in text_string_to_metric_families(sys.stdin.read()):",
      "    out[f.name] = {'type': f.type, 'samples': [[s.name, s.labels, s.value] for s in f.samples]}",
      "print(json.dumps(out))");

  private PrometheusText() {}

  static JsonNode parse(String text) {
    Process p;
    try {
      p = new ProcessBuilder("python3", "-c", SCRIPT).redirectErrorStream(true).start();
    } catch (IOException e) {
      return fail("python3 is not installed, so /metrics cannot be checked with the Prometheus text parser."
          + " .ci/run must install it and run `python3 -m pip install prometheus-client` (" + e.getMessage() + ")");
    }
    try (OutputStream in = p.getOutputStream()) {
      in.write(text.getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      p.destroyForcibly();
      return fail("could not send the metrics text to python3: %s", e.getMessage());
    }
    String output;
    try {
      output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return fail("the Prometheus parser (python3) did not finish within 60 s");
      }
    } catch (IOException e) {
      return fail("could not read the Prometheus parser's output: %s", e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
    if (p.exitValue() == 3 || output.startsWith("MISSING-MODULE")) {
      return fail("the Python module prometheus_client is missing, so /metrics cannot be checked with the"
          + " Prometheus text parser: .ci/run must run `python3 -m pip install prometheus-client`. (" + output.strip() + ")");
    }
    if (p.exitValue() != 0) {
      return fail("the Prometheus text parser rejected /metrics:%n%s", output);
    }
    try {
      return new ObjectMapper().readTree(output);
    } catch (IOException e) {
      return fail("unexpected output from the parser script: %s", output);
    }
  }
}
