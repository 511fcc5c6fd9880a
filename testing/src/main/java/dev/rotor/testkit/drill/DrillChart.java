package dev.rotor.testkit.drill;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The drill's timeline as a PNG, drawn with the JDK alone (Java2D, headless): one lane per client,
 * one bar per interval, successful queries in green and failed ones stacked on top in red; a
 * dashed line where the legacy client's certificate expired; ticks along the top for rotations of
 * the server (blue) and client (purple) certificates.
 */
public final class DrillChart {
  public static final Color OK = new Color(0x2e, 0x9d, 0x4b);
  public static final Color FAILED = new Color(0xd6, 0x2d, 0x20);
  private static final Color SERVER_ROTATION = new Color(0x1f, 0x5f, 0xbf);
  private static final Color CLIENT_ROTATION = new Color(0x8a, 0x3f, 0xb0);
  private static final Color EXPIRY = new Color(0x80, 0x10, 0x10);
  private static final Color GRID = new Color(0xdd, 0xdd, 0xdd);

  public static final int WIDTH = 1200;
  private static final int LEFT = 150;
  private static final int RIGHT = 30;
  private static final int TOP = 90;
  private static final int LANE = 120;
  private static final int LANE_GAP = 24;
  private static final int BOTTOM = 60;

  private DrillChart() {}

  /** The height of the chart for {@code clients} lanes. */
  public static int height(int clients) {
    return TOP + clients * (LANE + LANE_GAP) + BOTTOM;
  }

  public static BufferedImage render(DrillTimeline timeline, String title) {
    System.setProperty("java.awt.headless", "true");
    List<String> clients = timeline.clients();
    List<DrillTimeline.Row> rows = timeline.rows();
    int height = height(clients.size());
    BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, WIDTH, height);

      int plotWidth = WIDTH - LEFT - RIGHT;
      double lengthSeconds = DrillTimeline.seconds(timeline.length());
      int maxAttempts = Math.max(1, rows.stream()
          .flatMap(r -> r.counts().values().stream())
          .mapToInt(DrillTimeline.Counts::attempts).max().orElse(1));

      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
      g.drawString(title, LEFT, 30);
      legend(g, LEFT, 58);

      int plotBottom = TOP + clients.size() * (LANE + LANE_GAP) - LANE_GAP;
      // Time axis: a grid line and label every few intervals.
      int labelEvery = Math.max(1, rows.size() / 15);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      for (int i = 0; i <= rows.size(); i += labelEvery) {
        int x = x(i * DrillTimeline.seconds(timeline.interval()), lengthSeconds, plotWidth);
        g.setColor(GRID);
        g.drawLine(x, TOP - 8, x, plotBottom);
        g.setColor(Color.DARK_GRAY);
        String label = String.format(Locale.ROOT, "%.0f", i * DrillTimeline.seconds(timeline.interval()));
        g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, plotBottom + 18);
      }
      g.drawString("seconds since the drill started", LEFT + plotWidth / 2 - 90, plotBottom + 40);

      for (int lane = 0; lane < clients.size(); lane++) {
        String client = clients.get(lane);
        int laneTop = TOP + lane * (LANE + LANE_GAP);
        int laneBottom = laneTop + LANE;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(client, 10, laneTop + LANE / 2);
        DrillTimeline.Counts total = timeline.total(client);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString(total.ok() + " ok", 10, laneTop + LANE / 2 + 18);
        g.setColor(total.failed() > 0 ? FAILED : Color.DARK_GRAY);
        g.drawString(total.failed() + " failed", 10, laneTop + LANE / 2 + 34);
        g.setColor(Color.GRAY);
        g.drawLine(LEFT, laneBottom, LEFT + plotWidth, laneBottom);

        for (DrillTimeline.Row row : rows) {
          DrillTimeline.Counts counts = row.counts().get(client);
          int x0 = x(DrillTimeline.seconds(row.from()), lengthSeconds, plotWidth) + 1;
          int x1 = x(DrillTimeline.seconds(row.to()), lengthSeconds, plotWidth) - 1;
          int okHeight = (int) Math.round((double) counts.ok() / maxAttempts * (LANE - 6));
          int failedHeight = (int) Math.round((double) counts.failed() / maxAttempts * (LANE - 6));
          g.setColor(OK);
          g.fillRect(x0, laneBottom - okHeight, Math.max(1, x1 - x0), okHeight);
          g.setColor(FAILED);
          g.fillRect(x0, laneBottom - okHeight - failedHeight, Math.max(1, x1 - x0), failedHeight);
        }
      }

      for (DrillTimeline.Event event : timeline.events()) {
        int x = x(DrillTimeline.seconds(event.at()), lengthSeconds, plotWidth);
        switch (event.what()) {
          case DrillTimeline.SERVER_ROTATED -> tick(g, x, TOP - 22, SERVER_ROTATION);
          case DrillTimeline.CLIENT_ROTATED -> tick(g, x, TOP - 12, CLIENT_ROTATION);
          case DrillTimeline.LEGACY_EXPIRED -> {
            g.setColor(EXPIRY);
            g.setStroke(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                new float[] {8f, 5f}, 0f));
            g.drawLine(x, TOP - 4, x, plotBottom);
            g.setStroke(new BasicStroke(1f));
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.drawString("legacy certificate expires", x + 4, plotBottom - 4);
          }
          default -> { }
        }
      }
    } finally {
      g.dispose();
    }
    return image;
  }

  public static void writePng(BufferedImage image, Path file) {
    try {
      if (!ImageIO.write(image, "png", file.toFile())) {
        throw new IllegalStateException("no PNG writer in this JDK (ImageIO)");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  private static void legend(Graphics2D g, int x, int y) {
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    x = swatch(g, x, y, OK, "successful queries");
    x = swatch(g, x, y, FAILED, "failed queries");
    x = swatch(g, x, y, SERVER_ROTATION, "server certificate rotated");
    x = swatch(g, x, y, CLIENT_ROTATION, "client certificate rotated");
    swatch(g, x, y, EXPIRY, "legacy certificate expires");
  }

  private static int swatch(Graphics2D g, int x, int y, Color color, String label) {
    g.setColor(color);
    g.fillRect(x, y - 10, 12, 12);
    g.setColor(Color.BLACK);
    g.drawString(label, x + 16, y);
    return x + 16 + g.getFontMetrics().stringWidth(label) + 24;
  }

  private static void tick(Graphics2D g, int x, int y, Color color) {
    g.setColor(color);
    g.fillRect(x - 1, y, 3, 10);
  }

  private static int x(double seconds, double lengthSeconds, int plotWidth) {
    return LEFT + (int) Math.round(seconds / lengthSeconds * plotWidth);
  }
}
