package dev.rotor.demo.frontend;

import static net.logstash.logback.argument.StructuredArguments.kv;

import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One JSON log line per call: {@code outcome}, {@code status}, {@code latency_ms}, and the
 * backend's {@code answer} (or the {@code error}) as fields, so
 * {@code kubectl logs deploy/frontend -c frontend | jq 'select(.outcome=="failure")'} finds the failures.
 */
final class CallLog implements Consumer<CallResult> {
  private static final Logger log = LoggerFactory.getLogger("demo.frontend.calls");

  @Override
  public void accept(CallResult r) {
    if (r.success()) {
      log.info("backend call succeeded", kv("outcome", "success"), kv("status", r.status()),
          kv("latency_ms", r.latencyMillis()), kv("answer", r.answer()));
    } else {
      log.warn("backend call failed", kv("outcome", "failure"), kv("status", r.status()),
          kv("latency_ms", r.latencyMillis()), kv("error", r.error()), kv("answer", r.answer()));
    }
  }
}
