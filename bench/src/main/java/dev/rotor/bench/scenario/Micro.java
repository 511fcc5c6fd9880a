package dev.rotor.bench.scenario;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Scenario 6: the JMH benchmarks in {@code dev.rotor.bench.micro}, in forked JVMs on the harness's
 * classpath, with JMH's GC profiler for bytes allocated per operation ({@code gc.alloc.rate.norm}).
 */
public final class Micro {

  public record Figure(String benchmark, double nsPerOp, double nsPerOpError, double bytesPerOp, int forks,
      int iterations) {}

  public static List<Figure> run(int forks, int warmupIterations, int iterations) throws RunnerException {
    Options opts = new OptionsBuilder()
        .include("dev\\.rotor\\.bench\\.micro\\..*")
        .forks(forks)
        .warmupIterations(warmupIterations)
        .warmupTime(TimeValue.seconds(1))
        .measurementIterations(iterations)
        .measurementTime(TimeValue.seconds(1))
        .jvmArgs("-Xms256m", "-Xmx256m")
        .addProfiler(GCProfiler.class)
        .shouldFailOnError(true)
        .build();
    Collection<RunResult> results = new Runner(opts).run();
    List<Figure> out = new ArrayList<>();
    for (RunResult r : results) {
      Result<?> primary = r.getPrimaryResult();
      Result<?> alloc = r.getSecondaryResults().get("gc.alloc.rate.norm");
      String name = r.getParams().getBenchmark();
      out.add(new Figure(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1),
          primary.getScore(), primary.getScoreError(), alloc == null ? Double.NaN : alloc.getScore(), forks,
          iterations));
    }
    return out;
  }
}
