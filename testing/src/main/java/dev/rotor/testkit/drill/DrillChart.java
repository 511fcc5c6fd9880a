package dev.rotor.testkit.drill;

import static java.util.Objects.requireNonNull;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * The drill's timeline as a PNG, drawn with the JDK alone (Java2D, headless): one lane per client,
 * one bar per interval, successful attempts in green and failed ones stacked on top in red; and
 * the timeline's events as {@link Mark}s: a row of ticks along the top per kind of event (the
 * drill: rotations of the server's and the client's certificates), or a dashed line across the
 * lanes (the drill: where the legacy client's certificate expired).
 */
public final class DrillChart {
  public static final Color OK = new Color(0x2e, 0x9d, 0x4b);
  public static final Color FAILED = new Color(0xd6, 0x2d, 0x20);
  private static final Color SERVER_ROTATION = new Color(0x1f, 0x5f, 0xbf);
  private static final Color CLIENT_ROTATION = new Color(0x8a, 0x3f, 0xb0);
  private static final Color EXPIRY = new Color(0x80, 0x10, 0x10);
  private static final Color GRID = new Color(0xdd, 0xdd, 0xdd);

  /** How one kind of event (its {@link DrillTimeline.Event#what()}) is drawn, and its legend. */
  public record Mark(String event, Color color, boolean line, String label) {
    public Mark {
      requireNonNull(event, "event");
      requireNonNull(color, "color");
      requireNonNull(label, "label");
    }

    /** A tick in a row of its own along the top. */
    public static Mark tick(String event, Color color, String label) {
      return new Mark(event, color, false, label);
    }

    /** A dashed line across every lane, labelled at the bottom. */
    public static Mark line(String event, Color color, String label) {
      return new Mark(event, color, true, label);
    }
  }

  /** The rotation drill's marks. */
  public static final List<Mark> DRILL_MARKS = List.of(
      Mark.tick(DrillTimeline.SERVER_ROTATED, SERVER_ROTATION, "server certificate rotated"),
      Mark.tick(DrillTimeline.CLIENT_ROTATED, CLIENT_ROTATION, "client certificate rotated"),
      Mark.line(DrillTimeline.LEGACY_EXPIRED, EXPIRY, "legacy certificate expires"));

  public static final int WIDTH = 1200;
  private static final int LEFT = 150;
  private static final int RIGHT = 30;
  private static final int TITLE = 40;
  private static final int LEGEND_ROW = 20;
  private static final int LEGEND_PER_ROW = 4;
  private static final int TICK_ROW = 10;
  private static final int LANE = 120;
  private static final int LANE_GAP = 24;
  private static final int BOTTOM = 60;

  private DrillChart() {}

  /** The height of the drill's chart for {@code clients} lanes. */
  public static int height(int clients) {
    return height(clients, DRILL_MARKS);
  }

  /** The height of a chart with {@code clients} lanes and {@code marks}. */
  public static int height(int clients, List<Mark> marks) {
    return top(marks) + clients * (LANE + LANE_GAP) + BOTTOM;
  }

  /** The drill's chart. */
  public static BufferedImage render(DrillTimeline timeline, String title) {
    return render(timeline, title, DRILL_MARKS);
  }

  /** A chart of {@code timeline} whose events are drawn as {@code marks} say (others are left out). */
  public static BufferedImage render(DrillTimeline timeline, String title, List<Mark> marks) {
    System.setProperty("java.awt.headless", "true");
    List<String> clients = timeline.clients();
    List<DrillTimeline.Row> rows = timeline.rows();
    int top = top(marks);
    int height = height(clients.size(), marks);
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
      legend(g, marks, plotWidth);

      int plotBottom = top + clients.size() * (LANE + LANE_GAP) - LANE_GAP;
      // Time axis: a grid line and label every few intervals.
      int labelEvery = Math.max(1, rows.size() / 15);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      for (int i = 0; i <= rows.size(); i += labelEvery) {
        int x = x(i * DrillTimeline.seconds(timeline.interval()), lengthSeconds, plotWidth);
        g.setColor(GRID);
        g.drawLine(x, top - 8, x, plotBottom);
        g.setColor(Color.DARK_GRAY);
        String label = String.format(Locale.ROOT, "%.0f", i * DrillTimeline.seconds(timeline.interval()));
        g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, plotBottom + 18);
      }
      g.drawString("seconds since the start", LEFT + plotWidth / 2 - 70, plotBottom + 40);

      for (int lane = 0; lane < clients.size(); lane++) {
        String client = clients.get(lane);
        int laneTop = top + lane * (LANE + LANE_GAP);
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

      List<Mark> ticks = marks.stream().filter(m -> !m.line()).toList();
      List<Mark> lines = marks.stream().filter(Mark::line).toList();
      for (DrillTimeline.Event event : timeline.events()) {
        int x = x(DrillTimeline.seconds(event.at()), lengthSeconds, plotWidth);
        for (int i = 0; i < ticks.size(); i++) {
          if (ticks.get(i).event().equals(event.what())) {
            tick(g, x, top - 12 - (ticks.size() - 1 - i) * TICK_ROW, ticks.get(i).color());
          }
        }
        for (int i = 0; i < lines.size(); i++) {
          Mark mark = lines.get(i);
          if (mark.event().equals(event.what())) {
            g.setColor(mark.color());
            g.setStroke(new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                new float[] {8f, 5f}, 0f));
            g.drawLine(x, top - 4, x, plotBottom);
            g.setStroke(new BasicStroke(1f));
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.drawString(mark.label(), x + 4, plotBottom - 4 - i * 14);
          }
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

  /** How many pixels of {@code image} have exactly {@code color}: what a test reads a chart by. */
  public static long pixels(BufferedImage image, Color color) {
    long count = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        if ((image.getRGB(x, y) & 0xffffff) == (color.getRGB() & 0xffffff)) {
          count++;
        }
      }
    }
    return count;
  }

  /** Where the lanes start: below the title, the legend rows and one row of ticks per tick mark. */
  private static int top(List<Mark> marks) {
    int legendRows = (2 + marks.size() + LEGEND_PER_ROW - 1) / LEGEND_PER_ROW;
    int tickRows = (int) marks.stream().filter(m -> !m.line()).count();
    return TITLE + legendRows * LEGEND_ROW + tickRows * TICK_ROW + 20;
  }

  private static void legend(Graphics2D g, List<Mark> marks, int plotWidth) {
    List<Color> colors = new ArrayList<>(List.of(OK, FAILED));
    List<String> labels = new ArrayList<>(List.of("successful", "failed"));
    marks.forEach(m -> {
      colors.add(m.color());
      labels.add(m.label());
    });
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    int column = plotWidth / LEGEND_PER_ROW;
    for (int i = 0; i < colors.size(); i++) {
      int x = LEFT + (i % LEGEND_PER_ROW) * column;
      int y = TITLE + 18 + (i / LEGEND_PER_ROW) * LEGEND_ROW;
      g.setColor(colors.get(i));
      g.fillRect(x, y - 10, 12, 12);
      g.setColor(Color.BLACK);
      g.drawString(labels.get(i), x + 16, y);
    }
  }

  private static void tick(Graphics2D g, int x, int y, Color color) {
    g.setColor(color);
    g.fillRect(x - 1, y, 3, 10);
  }

  private static int x(double seconds, double lengthSeconds, int plotWidth) {
    return LEFT + (int) Math.round(seconds / lengthSeconds * plotWidth);
  }
}
