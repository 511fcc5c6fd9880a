package dev.rotor.bench.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Grouped bar charts with min–max whiskers, drawn with Java2D and written as PNG (headless; no
 * chart library). Groups are x-axis categories (e.g. N), series are the systems compared.
 */
public final class Charts {
  private static final Color[] PALETTE = {
      new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728), new Color(0x9467bd),
      new Color(0x8c564b)};

  private Charts() {}

  /** One bar: median with min and max; NaN median = no bar. */
  public record Bar(double median, double min, double max) {}

  /**
   * @param bars bars[group][series]
   * @param logScale a logarithmic y axis (for figures spanning decades)
   */
  public static void groupedBars(Path file, String title, String yLabel, List<String> groups, List<String> series,
      double[][][] bars, boolean logScale) throws IOException {
    System.setProperty("java.awt.headless", "true");
    int w = 1000;
    int h = 560;
    int left = 80;
    int right = 20;
    int top = 50;
    int bottom = 70 + 18 * ((series.size() + 1) / 2);
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    g.drawString(title, left, 30);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));

    double max = 0;
    double min = Double.MAX_VALUE;
    for (double[][] grp : bars) {
      for (double[] b : grp) {
        if (b != null && !Double.isNaN(b[0])) {
          max = Math.max(max, Math.max(b[0], b[2]));
          min = Math.min(min, Math.max(1e-9, Math.min(b[0], b[1])));
        }
      }
    }
    if (max <= 0) {
      max = 1;
    }
    double lo = logScale ? Math.pow(10, Math.floor(Math.log10(Math.max(min, 1e-3)))) : 0;
    double hi = logScale ? Math.pow(10, Math.ceil(Math.log10(max))) : niceCeil(max);
    int plotH = h - top - bottom;
    int plotW = w - left - right;
    java.util.function.DoubleToIntFunction y = v -> {
      double f = logScale ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
          : v / hi;
      return top + plotH - (int) Math.round(f * plotH);
    };
    // Axis, grid and labels.
    g.setColor(new Color(0xdddddd));
    if (logScale) {
      for (double v = lo; v <= hi * 1.0001; v *= 10) {
        int yy = y.applyAsInt(v);
        g.setColor(new Color(0xdddddd));
        g.drawLine(left, yy, left + plotW, yy);
        g.setColor(Color.DARK_GRAY);
        g.drawString(label(v), 30, yy + 4);
      }
    } else {
      for (int i = 0; i <= 5; i++) {
        double v = hi * i / 5;
        int yy = y.applyAsInt(v);
        g.setColor(new Color(0xdddddd));
        g.drawLine(left, yy, left + plotW, yy);
        g.setColor(Color.DARK_GRAY);
        g.drawString(label(v), 30, yy + 4);
      }
    }
    g.setColor(Color.BLACK);
    g.drawLine(left, top, left, top + plotH);
    g.drawLine(left, top + plotH, left + plotW, top + plotH);
    Graphics2D rot = (Graphics2D) g.create();
    rot.rotate(-Math.PI / 2);
    rot.drawString(yLabel, -(top + plotH / 2 + yLabel.length() * 3), 16);
    rot.dispose();

    int groupW = plotW / Math.max(1, groups.size());
    int barW = Math.max(4, (groupW - 30) / Math.max(1, series.size()));
    for (int gi = 0; gi < groups.size(); gi++) {
      int gx = left + gi * groupW + 15;
      g.setColor(Color.BLACK);
      g.drawString(groups.get(gi), gx + (groupW - 30) / 2 - groups.get(gi).length() * 3, top + plotH + 18);
      for (int si = 0; si < series.size(); si++) {
        double[] b = bars[gi][si];
        if (b == null || Double.isNaN(b[0])) {
          continue;
        }
        int x = gx + si * barW;
        int y0 = y.applyAsInt(logScale ? lo : 0);
        int y1 = y.applyAsInt(b[0]);
        g.setColor(PALETTE[si % PALETTE.length]);
        g.fillRect(x + 1, Math.min(y0, y1), barW - 2, Math.abs(y0 - y1));
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1.2f));
        int ymin = y.applyAsInt(b[1]);
        int ymax = y.applyAsInt(b[2]);
        int cx = x + barW / 2;
        g.drawLine(cx, ymin, cx, ymax);
        g.drawLine(cx - 3, ymin, cx + 3, ymin);
        g.drawLine(cx - 3, ymax, cx + 3, ymax);
      }
    }
    // Legend.
    for (int si = 0; si < series.size(); si++) {
      int lx = left + (si % 2) * (plotW / 2);
      int ly = top + plotH + 36 + (si / 2) * 18;
      g.setColor(PALETTE[si % PALETTE.length]);
      g.fillRect(lx, ly - 10, 12, 12);
      g.setColor(Color.BLACK);
      g.drawString(series.get(si), lx + 18, ly);
    }
    g.setColor(Color.GRAY);
    g.drawString("bars: median; whiskers: min–max", w - 230, 30);
    g.dispose();
    ImageIO.write(img, "png", file.toFile());
  }

  private static double niceCeil(double v) {
    double p = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 2, 2.5, 5, 10}) {
      if (m * p >= v) {
        return m * p;
      }
    }
    return 10 * p;
  }

  private static String label(double v) {
    if (v >= 100 || v == Math.rint(v)) {
      return String.format(java.util.Locale.ROOT, "%.0f", v);
    }
    return String.format(java.util.Locale.ROOT, v >= 1 ? "%.1f" : "%.3f", v);
  }
}
