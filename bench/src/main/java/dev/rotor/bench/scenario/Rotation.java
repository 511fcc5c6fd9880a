package dev.rotor.bench.scenario;

/**
 * One identity change as the N streams saw it. Latencies are from the trigger to each stream's
 * first response carrying the new version, in milliseconds.
 *
 * @param triggerNanos the trigger on the wall clock (epoch nanoseconds)
 * @param warmup the first change after the streams were ready: reported, not counted in summaries
 * @param cpuSeconds CPU time of the serving process from the trigger to 1 s after the last delivery
 *     (ACK handling included), from /proc utime+stime sampled every 20 ms (resolution 10 ms)
 * @param cpuSecondsUpstream the same for the process feeding it (the SPIRE agent, for Rotor fed by SPIRE)
 */
public record Rotation(
    String version,
    String serial,
    String triggerSource,
    long triggerNanos,
    boolean warmup,
    int streams,
    double p50Ms,
    double p99Ms,
    double maxMs,
    double minMs,
    double spreadMs,
    int duplicateResponses,
    double cpuSeconds,
    double cpuSecondsUpstream) {}
