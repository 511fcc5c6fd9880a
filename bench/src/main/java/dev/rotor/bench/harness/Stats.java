package dev.rotor.bench.harness;

import java.util.Arrays;
import java.util.Collection;

/** Order statistics. Percentiles are nearest-rank: the value at rank ceil(p/100 * n). */
public final class Stats {
  private Stats() {}

  public static double percentile(double[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
  }

  public static double[] sorted(Collection<Double> values) {
    double[] a = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(a);
    return a;
  }

  /** Median, min and max of repeated measurements of one figure. */
  public record Spread(double median, double min, double max, int n) {
    public static Spread of(Collection<Double> values) {
      double[] a = sorted(values);
      if (a.length == 0) {
        return new Spread(Double.NaN, Double.NaN, Double.NaN, 0);
      }
      double median = a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
      return new Spread(median, a[0], a[a.length - 1], a.length);
    }

    /** "12.3 (10.1–15.0)" with {@code decimals} decimals. */
    public String format(int decimals) {
      if (n == 0) {
        return "n/a";
      }
      String f = "%." + decimals + "f";
      return String.format(java.util.Locale.ROOT, f + " (" + f + "–" + f + ")", median, min, max);
    }
  }
}
